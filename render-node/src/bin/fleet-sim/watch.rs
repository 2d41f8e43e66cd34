//! Where each stream is live, as the nodes report it to Redis (one `MGET` of the report
//! keys a sample): the driver's view of moves, gaps, failover and freshness without
//! loading the API it measures.

use std::collections::HashMap;

use anyhow::Context;
use shared::node_api::keys::report_key;
use shared::redis_link::{RedisConn, RedisTarget, Timeouts};
use shared::status::{LiveReport, StreamState};
use uuid::Uuid;

/// One stream's reported place.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub node_id: String,
    pub live: bool,
    pub reported_at: i64,
}

/// Reads the reports of a set of streams.
pub struct Watcher {
    conn: RedisConn,
    ns: String,
}

impl Watcher {
    pub async fn connect(url: &str, ns: &str) -> anyhow::Result<Self> {
        let timeouts = Timeouts {
            connect: std::time::Duration::from_secs(2),
            response: std::time::Duration::from_secs(5),
        };
        // On a cluster the MGET below is split by slot by the client.
        let conn = RedisTarget::parse(url)
            .context("redis url")?
            .connect(timeouts)
            .await
            .context("redis connection")?;
        Ok(Watcher {
            conn,
            ns: ns.to_owned(),
        })
    }

    /// The reported place of each of `ids` that has a report.
    pub async fn sample(&mut self, ids: &[Uuid]) -> anyhow::Result<HashMap<Uuid, Seen>> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(1000) {
            let keys: Vec<String> = chunk.iter().map(|id| report_key(&self.ns, *id)).collect();
            let values: Vec<Option<String>> = redis::cmd("MGET")
                .arg(&keys)
                .query_async(&mut self.conn)
                .await
                .context("MGET reports")?;
            for (id, v) in chunk.iter().zip(values) {
                let Some(r) = v.and_then(|v| serde_json::from_str::<LiveReport>(&v).ok()) else {
                    continue;
                };
                out.insert(
                    *id,
                    Seen {
                        node_id: r.node_id.unwrap_or_default(),
                        live: r.state == StreamState::Live,
                        reported_at: r.reported_at,
                    },
                );
            }
        }
        Ok(out)
    }
}
