//! Per-tenant quotas, from `QUOTA_*` variables (defaults in the README).
//!
//! Count quotas are checked by [`reserve`] inside the transaction that inserts: it takes the
//! tenant's advisory lock first, so two creates cannot both see the last free slot. Rates
//! (requests, uploads) are token buckets ([`crate::limits::rate`]); WebSockets are counted
//! per replica ([`crate::limits::sockets`]).

use shared::env::{self, EnvError};
use sqlx::PgConnection;

use crate::db::usage;
use crate::error::ApiError;
use crate::limits::rate::Bucket;

/// What each tenant may have and do.
#[derive(Debug, Clone)]
pub struct Quotas {
    /// Streams on air (running or paused) at once: `QUOTA_RUNNING_STREAMS`.
    pub running_streams: u64,
    /// Streams: `QUOTA_STREAMS`.
    pub streams: u64,
    /// Layers over all streams and scenes: `QUOTA_LAYERS`.
    pub layers: u64,
    /// Stream keys: `QUOTA_KEYS`.
    pub keys: u64,
    /// Scenes over all streams: `QUOTA_SCENES`.
    pub scenes: u64,
    /// Uploaded assets: `QUOTA_ASSETS`.
    pub assets: u64,
    /// Bytes of uploaded assets: `QUOTA_ASSET_BYTES`.
    pub asset_bytes: u64,
    /// Webhooks: `QUOTA_WEBHOOKS`.
    pub webhooks: u64,
    /// Open WebSockets on one replica: `QUOTA_WEBSOCKETS`.
    pub websockets: u64,
    /// API requests per second, sustained (`QUOTA_REQUESTS_PER_SECOND`; 0 turns it off) and
    /// in a burst (`QUOTA_REQUEST_BURST`).
    pub requests_per_second: f64,
    pub request_burst: f64,
    /// Asset uploads per minute, sustained (`QUOTA_UPLOADS_PER_MINUTE`) and in a burst
    /// (`QUOTA_UPLOAD_BURST`).
    pub uploads_per_minute: f64,
    pub upload_burst: f64,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            running_streams: 10,
            streams: 50,
            layers: 1000,
            keys: 100,
            scenes: 200,
            assets: 500,
            asset_bytes: 1024 * 1024 * 1024,
            webhooks: 20,
            websockets: 100,
            requests_per_second: 50.0,
            request_burst: 100.0,
            uploads_per_minute: 30.0,
            upload_burst: 10.0,
        }
    }
}

impl Quotas {
    /// The quotas from the environment, defaults for what is unset.
    pub fn from_env() -> Result<Self, EnvError> {
        let d = Quotas::default();
        Ok(Quotas {
            running_streams: env::parse_or("QUOTA_RUNNING_STREAMS", d.running_streams)?,
            streams: env::parse_or("QUOTA_STREAMS", d.streams)?,
            layers: env::parse_or("QUOTA_LAYERS", d.layers)?,
            keys: env::parse_or("QUOTA_KEYS", d.keys)?,
            scenes: env::parse_or("QUOTA_SCENES", d.scenes)?,
            assets: env::parse_or("QUOTA_ASSETS", d.assets)?,
            asset_bytes: env::parse_or("QUOTA_ASSET_BYTES", d.asset_bytes)?,
            webhooks: env::parse_or("QUOTA_WEBHOOKS", d.webhooks)?,
            websockets: env::parse_or("QUOTA_WEBSOCKETS", d.websockets)?,
            requests_per_second: env::parse_or("QUOTA_REQUESTS_PER_SECOND", d.requests_per_second)?,
            request_burst: env::parse_or("QUOTA_REQUEST_BURST", d.request_burst)?,
            uploads_per_minute: env::parse_or("QUOTA_UPLOADS_PER_MINUTE", d.uploads_per_minute)?,
            upload_burst: env::parse_or("QUOTA_UPLOAD_BURST", d.upload_burst)?,
        })
    }

    /// The API request budget.
    pub fn requests(&self) -> Bucket {
        Bucket {
            name: "requests",
            rate: self.requests_per_second,
            burst: self.request_burst,
        }
    }

    /// The upload budget.
    pub fn uploads(&self) -> Bucket {
        Bucket {
            name: "uploads",
            rate: self.uploads_per_minute / 60.0,
            burst: self.upload_burst,
        }
    }
}

/// A counted resource.
#[derive(Debug, Clone, Copy)]
pub enum Counted {
    Streams,
    RunningStreams,
    Layers,
    Keys,
    Scenes,
    Webhooks,
}

/// Takes the tenant's quota lock and checks that one more `what` fits; call it in the
/// transaction that then inserts (the lock holds until it ends).
pub async fn reserve(
    conn: &mut PgConnection,
    quotas: &Quotas,
    tenant: &str,
    what: Counted,
) -> Result<(), ApiError> {
    usage::lock_tenant(conn, tenant).await?;
    let (have, limit, quota, noun) = match what {
        Counted::Streams => (
            crate::db::streams::count(&mut *conn, tenant).await?,
            quotas.streams,
            "QUOTA_STREAMS",
            "streams",
        ),
        Counted::RunningStreams => (
            usage::running_streams(conn, tenant).await?,
            quotas.running_streams,
            "QUOTA_RUNNING_STREAMS",
            "streams on air",
        ),
        Counted::Layers => (
            usage::layers(conn, tenant).await?,
            quotas.layers,
            "QUOTA_LAYERS",
            "layers",
        ),
        Counted::Keys => (
            usage::keys(conn, tenant).await?,
            quotas.keys,
            "QUOTA_KEYS",
            "stream keys",
        ),
        Counted::Scenes => (
            usage::scenes(conn, tenant).await?,
            quotas.scenes,
            "QUOTA_SCENES",
            "scenes",
        ),
        Counted::Webhooks => (
            crate::db::webhooks::count(&mut *conn, tenant).await?,
            quotas.webhooks,
            "QUOTA_WEBHOOKS",
            "webhooks",
        ),
    };
    if have.max(0) as u64 >= limit {
        return Err(ApiError::quota(quota, limit, noun));
    }
    Ok(())
}

/// Takes the tenant's quota lock and checks that one more asset of `bytes` fits.
pub async fn reserve_asset(
    conn: &mut PgConnection,
    quotas: &Quotas,
    tenant: &str,
    bytes: u64,
) -> Result<(), ApiError> {
    usage::lock_tenant(conn, tenant).await?;
    let (count, used) = usage::assets(conn, tenant).await?;
    if count.max(0) as u64 >= quotas.assets {
        return Err(ApiError::quota("QUOTA_ASSETS", quotas.assets, "assets"));
    }
    if used.max(0) as u64 + bytes > quotas.asset_bytes {
        return Err(ApiError::quota(
            "QUOTA_ASSET_BYTES",
            quotas.asset_bytes,
            "bytes of assets",
        ));
    }
    Ok(())
}
