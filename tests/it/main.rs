//! The integration suite: real Postgres, Redis and RabbitMQ; one control plane per test.
#![allow(clippy::unwrap_used)] // a failing test should panic with the error

mod asset_bombs;
mod asset_replicas;
mod assets;
mod auth;
mod bad_input;
mod bench_dispatch;
mod bench_websockets;
mod config;
mod control_plane_failover;
mod control_plane_restart;
mod events;
mod faults;
mod fleet;
mod fleet_harness;
mod health;
mod ingest;
mod ingest_abuse;
mod key_secrecy;
mod keys;
mod layers;
mod leases;
mod lifecycle;
mod lost_starts;
mod migrations;
mod node_exposure;
mod quotas;
mod redaction;
mod replicas;
mod scenes;
mod server_limits;
mod soak;
mod stale_commands;
mod streams;
mod tenancy;
mod traces;
