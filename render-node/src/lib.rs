//! The render node: composites scenes of layers, encodes H.264/AAC and pushes FLV to RTMP
//! destinations, applying changes live.
//!
//! How a frame is made, and the modules involved:
//! - [`engine`]: [`Engine::start`] takes a [`shared::spec::StreamSpec`] and returns a
//!   [`StreamHandle`] (`apply`, `report`, `events`, `stop`). The dispatch layer calls only this.
//! - [`plan`]: diffs a new spec against the one on air and loads what changed, off the render
//!   thread, into a [`compose::Plan`].
//! - [`sources`]: where pixels come from — images ([`sources::image`], cached by content
//!   hash), text rendered once per change, video decoders, and the ingest interface.
//! - [`compose`]: our compositor. Static layers are prepared once per change into
//!   premultiplied I420 sprites and blended only over their own rectangle; only moving
//!   layers cost anything per frame.
//! - [`render_loop`]: one thread per stream producing timestamped frames on the pipeline
//!   clock into an `appsrc`.
//! - [`pipeline`]: `appsrc → x264enc → flvmux` with silent AAC audio (and video layers' audio).
//! - [`output`]: one isolated branch per destination, retried with backoff.
//! - [`supervisor`]: bus, outputs and the once-a-second report ([`metrics`]).
//! - [`events`]: what a stream tells its owner.
//! - [`snapshot`]: a JPEG of the frame on air.
//! - [`cli`], [`scene_file`]: the standalone `render` command.
//! - [`fleet`]: `render-node serve` — the node as a member of the fleet (jobs over AMQP,
//!   leases, live reports, drain).
//! - [`ingest`]: RTMP ingest — encoders publish to any node, feeds become layers anywhere.

pub mod cli;
pub mod compose;
pub mod engine;
pub mod error;
pub mod events;
pub mod fleet;
pub mod ingest;
pub mod metrics;
pub mod output;
pub mod pipeline;
pub mod plan;
pub mod render_loop;
pub mod scene_file;
pub mod snapshot;
pub mod sources;
pub mod supervisor;

pub use engine::{Applied, Engine, EngineConfig, StreamHandle, StreamOptions};
pub use error::RenderError;
pub use events::NodeEvent;
