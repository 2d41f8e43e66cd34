//! What one tenant may use, so that no tenant can hurt another: per-tenant [`quotas`]
//! (counts enforced under a per-tenant lock, read from `QUOTA_*`), per-tenant request and
//! upload [`rate`]s (token buckets in Redis, shared by every replica), per-tenant WebSocket
//! [`sockets`] on this replica, per-tenant [`gate`]s that keep one tenant's burst of creates
//! from taking the database pool, the bound on concurrent image [`decode`]s, and the HTTP
//! server's own [`server`] limits (connections, header-read time, WebSocket send time).

pub mod decode;
pub mod gate;
pub mod quotas;
pub mod rate;
pub mod server;
pub mod sockets;

pub use quotas::Quotas;
pub use server::ServerLimits;
