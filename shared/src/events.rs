//! Events tenants receive over the WebSocket, and the envelope they cross replicas in.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The event types of the WebSocket contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventType {
    #[serde(rename = "stream:status")]
    StreamStatus,
    #[serde(rename = "metrics:update")]
    MetricsUpdate,
    #[serde(rename = "layer:update")]
    LayerUpdate,
    #[serde(rename = "scene:activate")]
    SceneActivate,
    #[serde(rename = "stream:error")]
    StreamError,
    #[serde(rename = "ingest:connected")]
    IngestConnected,
    #[serde(rename = "ingest:disconnected")]
    IngestDisconnected,
    /// Audio meters ([`crate::audio::AudioLevels`]), ten a second, only to sockets that
    /// asked for them (`?meters=1`).
    #[serde(rename = "audio:levels")]
    AudioLevels,
    /// A layer's fallback ladder switched rungs (data: `LayerSourceStatus` plus `previous`).
    #[serde(rename = "layer:source")]
    LayerSource,
}

/// One WebSocket message: `{"type", "streamId", "data"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamEvent {
    #[serde(rename = "type")]
    pub kind: EventType,
    pub stream_id: Uuid,
    pub data: serde_json::Value,
}

/// An event on its way between processes: it names the tenant so each replica forwards it
/// only to that tenant's sockets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantEvent {
    pub tenant_id: String,
    pub event: StreamEvent,
}

impl TenantEvent {
    /// An event of `kind` about `stream_id`, for `tenant`'s sockets.
    pub fn new(tenant: &str, stream_id: Uuid, kind: EventType, data: serde_json::Value) -> Self {
        TenantEvent {
            tenant_id: tenant.to_owned(),
            event: StreamEvent {
                kind,
                stream_id,
                data,
            },
        }
    }
}
