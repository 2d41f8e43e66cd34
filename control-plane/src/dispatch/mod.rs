//! Turning desired-state changes into commands for render nodes.
//!
//! A handler changes Postgres and calls [`commands`] in the same transaction: the version is
//! bumped and the command written to the outbox, so the change and its command commit
//! together. The [`relay`] publishes outbox rows with publisher confirms.

pub mod commands;
pub mod reaper;
pub mod relay;
pub mod spec;
