//! `GET /nodes`: the render-node fleet as it reports itself, for operators.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use redis::AsyncCommands;
use serde::Serialize;
use shared::node_api::{NodeInfo, node_key, nodes_set};

use crate::extract::Operator;
use crate::response::{ApiResult, ok};
use crate::state::AppState;

/// Routes of this resource (operator-only, so not in the tenant OpenAPI document).
pub fn router() -> Router<AppState> {
    Router::new().route("/nodes", get(list_nodes))
}

/// The fleet: live nodes and totals.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fleet {
    nodes: Vec<NodeInfo>,
    capacity: usize,
    streams: usize,
}

async fn list_nodes(State(state): State<AppState>, Operator(who): Operator) -> ApiResult<Fleet> {
    let mut conn = state.redis.clone();
    let ids: Vec<String> = conn.smembers(nodes_set(state.ns())).await?;
    let mut nodes = Vec::with_capacity(ids.len());
    let mut gone = Vec::new();
    for id in ids {
        let raw: Option<String> = conn.get(node_key(state.ns(), &id)).await?;
        match raw.and_then(|r| serde_json::from_str::<NodeInfo>(&r).ok()) {
            Some(info) => nodes.push(info),
            // Its heartbeat expired: the node is dead; forget it.
            None => gone.push(id),
        }
    }
    if !gone.is_empty() {
        let _: Result<(), _> = conn.srem(nodes_set(state.ns()), &gone).await;
    }
    nodes.sort_by(|a, b| a.node_id.cmp(&b.node_id));
    tracing::debug!(operator = %who, nodes = nodes.len(), "fleet listed");
    ok(Fleet {
        capacity: nodes.iter().map(|n| n.capacity).sum(),
        streams: nodes.iter().map(|n| n.streams).sum(),
        nodes,
    })
}
