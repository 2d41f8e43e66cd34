//! The render node: composites scenes of layers, encodes H.264/AAC and pushes FLV to RTMP
//! destinations, applying changes live.
//!
//! The engine and what it is built from:
//! - [`engine`]: [`Engine::start`] takes a [`shared::spec::StreamSpec`] and returns a
//!   [`StreamHandle`] (`apply`, `report`, `events`, `stop`); within it the planner, the
//!   render loop, the supervisor, the stream's stats and events, snapshots, the RTSP
//!   preview, and the seam the fleet drives engines through ([`engine::StreamEngine`],
//!   with a simulated engine beside this one).
//! - [`compose`]: our compositor. Static layers are prepared once per change into
//!   premultiplied I420 sprites and blended only over their own rectangle; only moving
//!   layers cost anything per frame.
//! - [`sources`]: where pixels come from — images (cached by content hash), text rendered
//!   once per change, video decoders, and the interface live feeds plug into.
//! - [`pipeline`]: `appsrc → x264enc → flvmux` with silent AAC audio (and video layers' audio).
//! - [`output`]: one isolated branch per destination, retried with backoff.
//!
//! The apps that run it:
//! - [`standalone`]: `render-node render` — a scene file rendered with no control plane.
//! - [`fleet`]: `render-node serve` — the node as a member of the fleet (jobs over AMQP,
//!   leases, live reports, drain, its HTTP endpoint).
//! - [`ingest`]: RTMP ingest on a fleet node — encoders publish to any node, feeds become
//!   layers anywhere.
//! - [`isolation`]: `STREAM_ISOLATION=process` — each stream in a child process of the
//!   node (`render-node stream-child`), restarted when it crashes, within a memory budget.
//!
//! What they share:
//! - [`links`]: a fleet node's links to the rest of the system — settings, the control
//!   plane's internal API, Redis live state, its metrics registry.
//! - [`system`]: `/proc`, cgroup and clock readers.
//! - [`error`]: the engine's error type.

pub mod compose;
pub mod engine;
pub mod error;
pub mod fleet;
pub mod ingest;
pub mod isolation;
pub mod links;
pub mod output;
pub mod pipeline;
pub mod sources;
pub mod standalone;
pub mod system;

pub use engine::{Applied, Engine, EngineConfig, NodeEvent, StreamHandle, StreamOptions};
pub use error::RenderError;

/// What `DEBUG_COMPONENTS` turns up to debug in this binary, and the target of the
/// per-frame timing lines `STREAM_PERF_METRICS` turns on (see `shared::telemetry`).
pub const LOG_TABLE: shared::telemetry::LogTable = shared::telemetry::LogTable {
    components: &[
        ("workers", &["render_node::fleet"]),
        ("dispatch", &["render_node::fleet"]),
        (
            "renderer",
            &[
                "render_node::engine",
                "render_node::pipeline",
                "render_node::compose",
                "render_node::sources",
            ],
        ),
        ("rtmp", &["render_node::output", "render_node::ingest"]),
    ],
    perf_target: Some(engine::PERF_TARGET),
};
