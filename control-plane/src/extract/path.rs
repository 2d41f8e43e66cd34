//! Ids in the request path, parsed into their typed form on demand.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use uuid::Uuid;

use crate::error::ApiError;

/// Path parameters by name, parsed as ids on demand; a malformed id is a 404, since no
/// resource can have it.
pub struct PathIds(HashMap<String, String>);

impl PathIds {
    /// The id in parameter `name` (typed by the caller: `StreamId`, `LayerId`, …), or 404
    /// naming `what`.
    pub fn id<T: From<Uuid>>(&self, name: &str, what: &'static str) -> Result<T, ApiError> {
        self.0
            .get(name)
            .and_then(|v| Uuid::parse_str(v).ok())
            .map(T::from)
            .ok_or(ApiError::NotFound(what))
    }

    /// Whether the path has a parameter `name`.
    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(map) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::RouteNotFound)?;
        Ok(PathIds(map))
    }
}
