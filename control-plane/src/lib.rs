//! The control plane: a stateless HTTP + WebSocket API over Postgres, Redis and RabbitMQ.
//!
//! A request enters through [`routes`] (one file per resource), which name what they need
//! from it through [`extract`]: the tenant a JWT speaks for ([`auth`] verifies it), the
//! stream the path names, typed path ids ([`ids`]), and JSON bodies parsed in one place,
//! answering in the [`error`] envelope ([`response`] is its success half). Reads and writes
//! go to Postgres through [`db`], one file per table, whose functions take typed ids so a
//! swapped pair does not compile.
//!
//! **The write path.** Every change a render node must hear of goes through
//! [`dispatch::write::StreamWrite`]: it locks the stream's row, the handler writes through
//! it, and its commit bumps the stream's version, writes the node's command to the outbox
//! in the same transaction ([`dispatch::commands`], [`dispatch::tx`]), commits, wakes the
//! outbox relay and announces the change on the tenant's event channel ([`events`]). The
//! relay ([`dispatch::relay`]) publishes the outbox to RabbitMQ through [`broker`] in
//! batches with one publisher-confirm wait each; the reaper ([`dispatch::reaper`]) takes streams back from nodes whose
//! lease lapsed and queues them again through the same outbox.
//!
//! Live state that nodes report lives in Redis ([`live`]), one server or a Redis Cluster
//! (`shared::redis_link`); tenant events travel on per-tenant channels, and [`fanout`]
//! subscribes a replica to the tenants its WebSockets watch and hands their events over. Encoders are admitted
//! by stream key through [`ingest`]; [`streams`] creates streams with their first scene.
//! [`config`] reads the environment, [`migrate`] fits the database schema to this binary,
//! [`startup`] wires it all together with the shared [`state`], and [`metrics`] exports
//! Prometheus metrics. [`limits`] bounds what one tenant may use (quotas, rates, sockets,
//! decodes) and what the HTTP server accepts, so no tenant can hurt another. [`webhooks`]
//! queues stream events for tenants' endpoints in the transaction of the change and delivers
//! them, signed and retried, from that durable queue.

pub mod auth;
pub mod broker;
pub mod config;
pub mod db;
pub mod dispatch;
pub mod error;
pub mod events;
pub mod extract;
pub mod fanout;
pub mod ids;
pub mod ingest;
pub mod limits;
pub mod live;
pub mod metrics;
pub mod migrate;
pub mod response;
pub mod routes;
pub mod startup;
pub mod state;
pub mod streams;
pub mod webhooks;
