//! The live state of a stream: what nodes report and what the API answers.

use serde::{Deserialize, Serialize};

use crate::fallback::LayerSourceStatus;

/// Where a stream is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum StreamState {
    #[default]
    Idle,
    Queued,
    Starting,
    Live,
    Paused,
    Stopping,
    Failed,
}

/// The state of one RTMP destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum OutputState {
    Connecting,
    Active,
    Reconnecting,
    Failed,
}

/// One destination as shown to the tenant: its URL with the stream key masked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OutputStatus {
    pub url: String,
    pub state: OutputState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a node last reported about a stream it runs (kept in Redis, rebuilt by the node).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveReport {
    pub state: StreamState,
    pub node_id: Option<String>,
    /// The desired-state version the node is rendering.
    pub version: i64,
    pub fps: f64,
    pub frame_count: u64,
    pub dropped_frames: u64,
    /// Mean composite time per frame, milliseconds.
    pub average_render_time: f64,
    pub encoder_latency_ms: f64,
    /// From a frame entering the encoding pipeline to its FLV tag leaving the muxer, ms.
    #[serde(default)]
    pub output_latency_ms: f64,
    /// Output bitrate measured from bytes sent, kbit/s.
    pub bitrate: f64,
    pub cpu_usage: f64,
    /// Resident memory of the node process, bytes.
    pub memory_usage: u64,
    pub viewer_count: u64,
    /// Unix milliseconds when the stream went live.
    pub start_time: Option<i64>,
    pub reason: Option<String>,
    pub outputs: Vec<OutputStatus>,
    /// Layers with a fallback ladder: the rung on air and each rung's health.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layer_sources: Vec<LayerSourceStatus>,
    /// Unix milliseconds of the report.
    pub reported_at: i64,
}

/// The seed's status shape plus our lifecycle fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StreamStatus {
    pub stream_id: uuid::Uuid,
    pub is_live: bool,
    pub is_paused: bool,
    pub fps: f64,
    pub frame_count: u64,
    pub dropped_frames: u64,
    pub average_render_time: f64,
    /// Unix milliseconds when the stream went live, `null` when it is not.
    pub start_time: Option<i64>,
    pub state: StreamState,
    pub node_id: Option<String>,
    pub reason: Option<String>,
    pub outputs: Vec<OutputStatus>,
    /// Layers with a fallback ladder: the rung on air and each rung's health.
    #[serde(default)]
    pub layer_sources: Vec<LayerSourceStatus>,
    /// The desired-state version this status answers for.
    pub version: i64,
}

/// The seed's metrics shape.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StreamMetrics {
    pub fps: f64,
    /// kbit/s actually sent.
    pub bitrate: f64,
    pub dropped_frames: u64,
    pub viewer_count: u64,
    /// Percent of one core.
    pub cpu_usage: f64,
    /// Bytes resident.
    pub memory_usage: u64,
}
