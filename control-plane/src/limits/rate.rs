//! Per-tenant token buckets in Redis.
//!
//! The bucket lives in Redis, not in each replica, so that every replica spends from the
//! same budget: a tenant behind a load balancer cannot multiply its rate by the replica
//! count, and the limit holds whatever the balancing (dividing it by the replica count
//! would make it depend on the deployment's size and on even spreading). The refill uses
//! Redis's own clock, so replicas' clocks need not agree. One script call per request is
//! the cost; if Redis is away the request is let through (Redis's outage must not become
//! the API's), and logged.

use shared::redis_link::RedisConn;

use crate::error::ApiError;

/// Refill, spend one token, and answer how many milliseconds until one is available
/// (0: spent). The key expires once the bucket would be full again.
const BUCKET: &str = r"
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return wait
";

/// A kind of budget: what it limits and how fast it refills.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    /// Names the Redis key and the refusal message.
    pub name: &'static str,
    /// Tokens per second.
    pub rate: f64,
    /// Largest number of tokens (a burst after a quiet spell).
    pub burst: f64,
}

/// Spends one of `tenant`'s tokens from `bucket` (keys under the namespace `ns`); 429 with
/// `Retry-After` when there is none.
pub async fn spend(
    redis: &RedisConn,
    ns: &str,
    tenant: &str,
    bucket: Bucket,
) -> Result<(), ApiError> {
    if bucket.rate <= 0.0 {
        return Ok(());
    }
    let key = format!("{ns}rate:{}:{tenant}", bucket.name);
    let mut conn = redis.clone();
    // EVAL with the text each time: 600 bytes, and no script-cache miss to handle.
    let wait: Result<u64, _> = redis::cmd("EVAL")
        .arg(BUCKET)
        .arg(1)
        .arg(&key)
        .arg(bucket.rate)
        .arg(bucket.burst.max(1.0))
        .query_async(&mut conn)
        .await;
    match wait {
        Ok(0) => Ok(()),
        Ok(ms) => {
            tracing::info!(
                tenant,
                bucket = bucket.name,
                retry_after_ms = ms,
                "rate limited"
            );
            Err(ApiError::RateLimited {
                message: format!(
                    "too many {}: at most {} per second; retry later",
                    bucket.name, bucket.rate
                ),
                retry_after_secs: ms.div_ceil(1000).max(1),
            })
        }
        Err(e) => {
            tracing::warn!(tenant, bucket = bucket.name, error = %e, "rate limiter unavailable; letting the request through");
            Ok(())
        }
    }
}
