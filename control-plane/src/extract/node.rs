//! A render node calling the internal API: it presents the shared `NODE_SECRET` and names
//! itself in `X-Node-Id`.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use secrecy::ExposeSecret;
use shared::node_api::{NODE_ID_HEADER, same_secret};

use crate::error::ApiError;
use crate::ids::NodeId;
use crate::state::AppState;

/// A render node, authenticated by the shared secret and named by `X-Node-Id`.
pub struct Node(pub NodeId);

/// Node names are host names in practice; bounded and plain so they are safe in queue names,
/// Redis keys and logs.
fn valid_node_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

impl FromRequestParts<AppState> for Node {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Without a node secret the internal API does not exist.
        let Some(secret) = state.config.node_secret.as_ref() else {
            return Err(ApiError::RouteNotFound);
        };
        let presented = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !same_secret(presented.as_bytes(), secret.expose_secret().as_bytes()) {
            return Err(ApiError::Unauthorized("not a render node".into()));
        }
        let node = parts
            .headers
            .get(NODE_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|n| valid_node_name(n))
            .ok_or_else(|| {
                ApiError::invalid("X-Node-Id", "must name the node (letters, digits, - _ .)")
            })?;
        Ok(Node(NodeId::from(node.to_owned())))
    }
}
