//! Queries, one file per table. Each function takes an executor (pool or transaction) so a
//! handler can group several in one transaction; all are compile-checked by `sqlx::query!`,
//! and ids are typed (`crate::ids`) so two of them cannot be passed in each other's place.
//!
//! Queries that read the same row shape repeat its column list (`streams::find`/`lock`,
//! `layers::list`/`find`, …, which `duplicates` pairs): `query_as!` checks each literal
//! against the schema at build time and needs it whole, so sharing the text would mean the
//! unchecked API. The repetition is the price of a build that fails when a column changes.
//!
//! - [`streams`]: a tenant's streams, their config, desired state and version.
//! - [`scenes`], [`layers`]: what a stream shows.
//! - [`keys`]: stream keys, stored as hashes. [`assets`]: uploaded images.
//! - [`leases`]: which render node holds a stream, fenced by an epoch; the reaper's query.
//! - [`node_leases`]: one lease per render node, renewed once per node; a stream is held
//!   while its holder's node lease is.
//! - [`outbox`]: commands committed with their change, awaiting the relay.
//! - [`audit`]: who started, stopped, paused and resumed which stream.
//! - [`webhooks`]: tenants' webhook endpoints, the queue of deliveries, the log of tries.
//! - [`usage`]: a tenant's counts for its quotas, and the per-tenant lock around them.

pub mod assets;
pub mod audit;
pub mod keys;
pub mod layers;
pub mod leases;
pub mod node_leases;
pub mod outbox;
pub mod scenes;
pub mod streams;
pub mod usage;
pub mod webhooks;

use time::OffsetDateTime;

/// Unix milliseconds, the seed's timestamp form.
pub fn unix_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Whether an error is a violation of the named unique constraint or index.
pub fn is_unique_violation(e: &sqlx::Error, constraint: &str) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.is_unique_violation() && db.constraint() == Some(constraint)
        }
        _ => false,
    }
}
