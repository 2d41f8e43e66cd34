//! The control plane: a stateless HTTP + WebSocket API over Postgres, Redis and RabbitMQ.
//!
//! A request enters through [`routes`] (one file per resource), is authenticated by
//! [`extract`] (JWT tenant, stream scoping, JSON that speaks our [`error`] envelope), reads
//! and writes Postgres through [`db`] (one file per table), and when it changes what a
//! render node should do, [`dispatch::commands`] bumps the stream's version and writes a
//! command to the outbox in the same transaction. [`dispatch::relay`] publishes the outbox
//! to RabbitMQ through [`broker`] with publisher confirms. Live state that nodes report
//! lives in Redis ([`live`]); tenant events fan out to every replica via Redis pub/sub
//! ([`events`]) and reach WebSockets through [`fanout`]. [`startup`] wires it together; [`config`] reads the environment.

pub mod auth;
pub mod broker;
pub mod config;
pub mod db;
pub mod dispatch;
pub mod error;
pub mod events;
pub mod extract;
pub mod fanout;
pub mod ingest;
pub mod live;
pub mod metrics;
pub mod response;
pub mod routes;
pub mod startup;
pub mod state;
pub mod streams;
