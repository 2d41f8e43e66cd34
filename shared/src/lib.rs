//! The language the control plane and the render nodes share.
//!
//! Nothing here talks to a database, a broker or GStreamer: these are plain types and the
//! rules that validate them, so both binaries (and the fuzz targets) agree on what a valid
//! stream description is.
//!
//! - [`validation`]: the `FieldError` every validator returns, naming the offending field.
//! - [`color`], [`layer`], [`scene`], [`transition`]: what a tenant composes — layers of five kinds grouped in
//!   scenes, with transitions and easing; [`effect`]: per-layer effects (crop, chroma key,
//!   corners, …); [`text_template`]: live placeholders in text layers (clock, date, countdown).
//! - [`audio`]: a layer's fader (volume, mute, pan, A/V delay) and the level meters nodes
//!   publish for a stream's sources and programme.
//! - [`stream_config`]: the seed's `STREAM_*` settings plus RTMP `outputs`, parsed and checked.
//! - [`fallback`]: a live layer's fallback ladder — its rungs, limits, and the status of
//!   the rung on air.
//! - [`media_url`]: the policy that keeps media URLs and outputs off private networks.
//! - [`spec`]: a stream's whole desired state, as a render node receives it.
//! - [`amqp`] (feature `amqp`): connecting to RabbitMQ, declaring the topology, publishing
//!   with confirms.
//! - [`redis_link`] (feature `redis`): `REDIS_URL` parsed once — one server or a Redis
//!   Cluster (`redis+cluster://`) — the connection that hides which, and the per-tenant event
//!   channels (sharded pub/sub on a cluster).
//! - [`messages`]: AMQP commands to render nodes and the names of exchanges and queues.
//! - [`node_api`]: the contract between render nodes and the control plane — the internal
//!   API's routes and bodies, the lease timings (lease length, renewal, self-fencing
//!   deadline, derived from one another), the Redis records nodes keep and their expiries,
//!   URL signatures, and (feature `node-client`) the typed client nodes and tests call it with.
//! - [`status`]: the live state a node reports and the API shows.
//! - [`events`]: the WebSocket events tenants receive; [`tenant_text`]: what text may
//!   reach a tenant (credentials and signatures masked, length bounded).
//! - [`telemetry`], [`shutdown`], [`env`]: process plumbing both binaries use the same way.
//! - [`backoff`]: retry delays (reconnect loops, destinations) with jitter and an optional
//!   budget.
//! - [`trace_context`]: the W3C trace context one trace follows across HTTP, the outbox and
//!   AMQP.

#[cfg(feature = "amqp")]
pub mod amqp;
pub mod audio;
pub mod backoff;
pub mod color;
pub mod effect;
pub mod env;
pub mod events;
pub mod fallback;
pub mod layer;
pub mod media_url;
pub mod messages;
pub mod node_api;
#[cfg(feature = "redis")]
pub mod redis_link;
pub mod scene;
pub mod shutdown;
pub mod spec;
pub mod status;
pub mod stream_config;
#[cfg(feature = "telemetry")]
pub mod telemetry;
pub mod tenant_text;
pub mod text_template;
#[cfg(feature = "telemetry")]
pub mod trace_context;
pub mod transition;
pub mod validation;

pub use validation::FieldError;
