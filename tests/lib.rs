//! Test harness for the integration suite: finds the real services (URLs from the
//! environment, else the default local ports), and spawns control planes on port 0, each
//! with its own database and its own AMQP/Redis namespace so tests run in parallel. Render
//! nodes (`nodes`) and, for restarts, control planes (`control_plane_process`) also run as
//! real processes; `dns` is a name server tests give nodes as their resolver.

#![allow(clippy::unwrap_used)] // test harness: failures should panic

pub mod control_plane_process;
pub mod dns;
pub mod nodes;
pub mod otlp;
pub mod packet_log;
pub mod proc_stats;
pub mod services;
pub mod test_app;
pub mod ws;

pub use test_app::{
    TestApp, spawn_app, spawn_app_with, spawn_app_with_private_urls, spawn_replica,
    spawn_replica_with,
};
