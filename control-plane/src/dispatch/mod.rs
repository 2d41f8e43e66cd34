//! Turning desired-state changes into commands for render nodes.
//!
//! - [`write`]: the one write path for a tenant's change to a stream — lock, write, bump the
//!   version, queue the command, commit, wake the relay, announce the event.
//! - [`tx`]: the transaction commands are queued in (to the Postgres outbox, committed with
//!   the change that caused them); it wakes the relay when it commits any.
//! - [`commands`]: which command a change sends and to whom (start, update, stop).
//! - [`spec`]: the stream's whole desired state, read from Postgres, that commands carry.
//! - [`relay`]: publishes the outbox to RabbitMQ with publisher confirms.
//! - [`reaper`]: takes streams back from nodes whose lease lapsed and dispatches them again.

pub mod commands;
pub mod reaper;
pub mod relay;
pub mod spec;
pub mod tx;
pub mod write;
