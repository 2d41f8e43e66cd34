//! Which Redis a URL names, and the one connection type both binaries use whatever it is.
//!
//! `redis://…` / `rediss://…` is one server, as always. `redis+cluster://host:port,host:port`
//! (or `rediss+cluster://`) is a Redis Cluster given by seed nodes: the client learns the
//! slot map from any of them, follows `MOVED`/`ASK`, and reconnects to whichever master
//! holds a slot after a failover. Callers hold a [`RedisConn`] and never branch on the kind:
//! every command the product sends is single-key or hash-tagged (`shared::node_api::keys`),
//! and the one place that must differ — pub/sub — is [`events`].
//!
//! - [`events`]: per-tenant event channels, publishing and on-demand subscription.

pub mod events;

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};

/// The URL scheme suffix that selects Redis Cluster.
const CLUSTER_SCHEMES: [(&str, &str); 2] = [
    ("redis+cluster://", "redis://"),
    ("rediss+cluster://", "rediss://"),
];

/// A Redis URL that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RedisUrlError {
    #[error("invalid Redis URL: {0}")]
    Invalid(#[from] redis::RedisError),
    #[error("a redis+cluster:// URL needs at least one host:port seed")]
    NoSeeds,
}

/// Which Redis to talk to, parsed once from `REDIS_URL`.
#[derive(Clone, Debug)]
pub enum RedisTarget {
    /// One server (or a proxy in front of several).
    Single(Box<redis::Client>),
    /// A Redis Cluster, by seed node URLs (one per `host:port`, credentials copied to each).
    Cluster(Vec<String>),
}

/// How long a connect and a reply may take before the call fails (and the caller backs off).
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub connect: Duration,
    pub response: Duration,
}

impl RedisTarget {
    /// Parses `REDIS_URL`: a cluster seed list, or anything the `redis` crate accepts.
    pub fn parse(url: &str) -> Result<Self, RedisUrlError> {
        for (cluster, plain) in CLUSTER_SCHEMES {
            if let Some(rest) = url.strip_prefix(cluster) {
                return Self::cluster(rest, plain);
            }
        }
        Ok(RedisTarget::Single(Box::new(redis::Client::open(url)?)))
    }

    /// `user:pass@h1:p1,h2:p2/…`: credentials and the path/query of the first seed apply
    /// to every seed.
    fn cluster(rest: &str, scheme: &str) -> Result<Self, RedisUrlError> {
        let (auth, hosts) = match rest.rsplit_once('@') {
            Some((auth, hosts)) => (format!("{auth}@"), hosts),
            None => (String::new(), rest),
        };
        let (hosts, tail) = match hosts.find(['/', '?']) {
            Some(i) => hosts.split_at(i),
            None => (hosts, ""),
        };
        let seeds: Vec<String> = hosts
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(|h| format!("{scheme}{auth}{h}{tail}"))
            .collect();
        if seeds.is_empty() {
            return Err(RedisUrlError::NoSeeds);
        }
        // Check every seed now, so a typo fails at start and not at the first reconnect.
        for seed in &seeds {
            redis::Client::open(seed.as_str())?;
        }
        Ok(RedisTarget::Cluster(seeds))
    }

    /// True for a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self, RedisTarget::Cluster(_))
    }

    /// A connection that reconnects by itself (a connection manager, or the cluster client
    /// that follows the slot map).
    pub async fn connect(&self, t: Timeouts) -> RedisResult<RedisConn> {
        match self {
            RedisTarget::Single(client) => {
                let cfg = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(t.connect))
                    .set_response_timeout(Some(t.response))
                    .set_max_delay(Duration::from_secs(2));
                let conn = client.get_connection_manager_with_config(cfg).await?;
                Ok(RedisConn::Single(conn))
            }
            RedisTarget::Cluster(seeds) => {
                let client = cluster_builder(seeds, t).build()?;
                Ok(RedisConn::Cluster(client.get_async_connection().await?))
            }
        }
    }
}

/// The cluster client settings every cluster connection shares: bounded connects, replies
/// and retries, so a dead master costs a caller about one timeout, not minutes.
fn cluster_builder(seeds: &[String], t: Timeouts) -> ClusterClientBuilder {
    ClusterClientBuilder::new(seeds.iter().map(String::as_str))
        .connection_timeout(t.connect)
        .response_timeout(t.response)
        .retries(2)
        .max_retry_wait(500)
}

/// A connection to one server or to a cluster; cheap to clone (both are multiplexed).
#[derive(Clone)]
pub enum RedisConn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl RedisConn {
    /// True for a Redis Cluster (pub/sub goes sharded there: see [`events`]).
    pub fn is_cluster(&self) -> bool {
        matches!(self, RedisConn::Cluster(_))
    }
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            RedisConn::Single(c) => c.req_packed_command(cmd),
            RedisConn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            RedisConn::Single(c) => c.req_packed_commands(cmd, offset, count),
            RedisConn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConn::Single(c) => c.get_db(),
            RedisConn::Cluster(_) => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_url_is_one_server() {
        let t = RedisTarget::parse("redis://127.0.0.1:6379").expect("parses");
        assert!(!t.is_cluster());
        assert!(
            !RedisTarget::parse("rediss://:pw@cache.internal:6380/2")
                .expect("parses")
                .is_cluster()
        );
        assert!(RedisTarget::parse("http://x").is_err());
    }

    #[test]
    fn a_cluster_url_lists_its_seeds_with_shared_credentials() {
        let t = RedisTarget::parse("redis+cluster://u:p@10.0.0.1:7001, 10.0.0.2:7002/?x=1")
            .expect("parses");
        let RedisTarget::Cluster(seeds) = t else {
            panic!("not a cluster")
        };
        assert_eq!(
            seeds,
            [
                "redis://u:p@10.0.0.1:7001/?x=1",
                "redis://u:p@10.0.0.2:7002/?x=1"
            ]
        );
        let RedisTarget::Cluster(tls) = RedisTarget::parse("rediss+cluster://a:1").expect("parses")
        else {
            panic!("not a cluster")
        };
        assert_eq!(tls, ["rediss://a:1"]);
    }

    #[test]
    fn a_cluster_url_without_seeds_is_refused() {
        assert!(matches!(
            RedisTarget::parse("redis+cluster://"),
            Err(RedisUrlError::NoSeeds)
        ));
        assert!(RedisTarget::parse("redis+cluster://,").is_err());
    }
}
