//! The render node as a member of the fleet: it takes start jobs from RabbitMQ, claims each
//! stream's lease from the control plane, runs it on the [`crate::Engine`], applies updates
//! routed to its own queue, renews its leases every second (stopping any stream whose lease
//! it lost), reports live state to Redis, and drains on SIGTERM.
//!
//! - [`config`]: settings from the environment.
//! - [`admission`]: whether the node takes another job (slots, measured CPU and memory).
//! - [`control_api`]: the control plane's internal lease API.
//! - [`live_state`]: Redis — live reports, events, the node's heartbeat.
//! - [`held`]: the streams this node runs and their leases.
//! - [`http`]: `METRICS_ADDR` — Prometheus metrics, health, stream snapshots.
//! - [`rtsp`]: `RTSP_ADDR` — a live preview of each stream at `/{streamId}`.
//! - [`commands`]: AMQP — the shared jobs queue (polled while there is capacity) and the
//!   node's own command queue.
//! - [`worker`]: the loops tying them together.

pub mod admission;
pub mod commands;
pub mod config;
pub mod control_api;
pub mod held;
pub mod http;
pub mod live_state;
pub mod rtsp;
pub mod worker;

pub use config::NodeConfig;
pub use worker::run;
