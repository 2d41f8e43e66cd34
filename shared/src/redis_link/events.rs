//! Tenant events over Redis pub/sub: one channel per tenant, so a control-plane replica
//! subscribes only to the tenants its WebSockets watch and never parses the others' traffic
//! (before, every replica received every stream's `metrics:update` every second).
//!
//! On one server the channels are classic (`PUBLISH`/`SUBSCRIBE`). On a Redis Cluster they
//! are sharded (`SPUBLISH`/`SSUBSCRIBE`, Redis 7): a classic publish is copied over the
//! cluster bus to every master, a sharded one stays on the master that owns the channel's
//! slot, so pub/sub grows with shards instead of costing every shard every message.
//! Subscriptions are RESP3 pushes on a connection that re-subscribes by itself after a
//! reconnect or a failover (the `redis` crate tracks them).

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::{ProtocolVersion, PushInfo, PushKind, RedisResult, Value};
use tokio::sync::mpsc;

use super::{RedisConn, RedisTarget, Timeouts, cluster_builder};

/// The channel carrying one tenant's events, under a namespace prefix.
pub fn tenant_channel(ns: &str, tenant: &str) -> String {
    format!("{ns}sm:events:{tenant}")
}

/// The channel carrying one tenant's audio meters (`audio:levels`), apart from its events:
/// at ten a second per stream they would be most of the traffic, and few sockets want them.
pub fn meters_channel(ns: &str, tenant: &str) -> String {
    format!("{ns}sm:meters:{tenant}")
}

/// Publishes `payload` (a serialized `TenantEvent`) on `channel`: sharded on a cluster.
/// Returns how many subscribers received it.
pub async fn publish(conn: &mut RedisConn, channel: &str, payload: &str) -> RedisResult<i64> {
    let verb = if conn.is_cluster() {
        "SPUBLISH"
    } else {
        "PUBLISH"
    };
    redis::cmd(verb)
        .arg(channel)
        .arg(payload)
        .query_async(conn)
        .await
}

enum SubConn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

/// The subscribing half: channels are added and dropped while messages flow.
pub struct Subscriptions {
    conn: SubConn,
}

/// The receiving half: messages of every subscribed channel, in order.
pub struct Messages {
    pushes: mpsc::UnboundedReceiver<PushInfo>,
}

/// One message received on a channel.
#[derive(Debug)]
pub struct Message {
    pub channel: String,
    pub payload: Vec<u8>,
}

impl RedisTarget {
    /// A RESP3 connection for subscriptions, and the stream of what they receive.
    pub async fn subscriber(&self, t: Timeouts) -> RedisResult<(Subscriptions, Messages)> {
        let (tx, pushes) = mpsc::unbounded_channel();
        let conn = match self {
            RedisTarget::Single(client) => {
                let info = client.get_connection_info().clone();
                let settings = info
                    .redis_settings()
                    .clone()
                    .set_protocol(ProtocolVersion::RESP3);
                let client = redis::Client::open(info.set_redis_settings(settings))?;
                let cfg = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(t.connect))
                    .set_response_timeout(Some(t.response))
                    .set_max_delay(std::time::Duration::from_secs(2))
                    .set_push_sender(tx)
                    .set_automatic_resubscription();
                SubConn::Single(client.get_connection_manager_with_config(cfg).await?)
            }
            RedisTarget::Cluster(seeds) => {
                let client = cluster_builder(seeds, t)
                    .use_protocol(ProtocolVersion::RESP3)
                    .push_sender(tx)
                    .build()?;
                SubConn::Cluster(client.get_async_connection().await?)
            }
        };
        Ok((Subscriptions { conn }, Messages { pushes }))
    }
}

impl Subscriptions {
    /// Starts receiving `channel`.
    pub async fn subscribe(&mut self, channel: &str) -> RedisResult<()> {
        match &mut self.conn {
            SubConn::Single(c) => c.subscribe(channel).await,
            SubConn::Cluster(c) => c.ssubscribe(channel).await,
        }
    }

    /// Stops receiving `channel`.
    pub async fn unsubscribe(&mut self, channel: &str) -> RedisResult<()> {
        match &mut self.conn {
            SubConn::Single(c) => c.unsubscribe(channel).await,
            SubConn::Cluster(c) => c.sunsubscribe(channel).await,
        }
    }
}

impl Messages {
    /// The next message; `None` once the connection is gone for good.
    pub async fn next(&mut self) -> Option<Message> {
        loop {
            let push = self.pushes.recv().await?;
            if let Some(m) = message(push) {
                return Some(m);
            }
        }
    }
}

/// A published message out of a push (subscribe confirmations and disconnect notices are
/// not messages).
fn message(push: PushInfo) -> Option<Message> {
    if !matches!(push.kind, PushKind::Message | PushKind::SMessage) {
        return None;
    }
    let mut data = push.data.into_iter();
    let (Some(Value::BulkString(channel)), Some(Value::BulkString(payload))) =
        (data.next(), data.next())
    else {
        return None;
    };
    Some(Message {
        channel: String::from_utf8(channel).ok()?,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tenant_has_its_own_channel() {
        assert_eq!(tenant_channel("t1:", "acme"), "t1:sm:events:acme");
        assert_ne!(tenant_channel("", "a"), tenant_channel("", "b"));
        assert_ne!(meters_channel("", "a"), tenant_channel("", "a"));
    }

    #[test]
    fn only_published_messages_are_messages() {
        let push = |kind, data| PushInfo { kind, data };
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let m = message(push(PushKind::SMessage, vec![bulk("c"), bulk("{}")])).expect("a message");
        assert_eq!(
            (m.channel.as_str(), m.payload.as_slice()),
            ("c", &b"{}"[..])
        );
        assert!(message(push(PushKind::Message, vec![bulk("c"), bulk("x")])).is_some());
        assert!(message(push(PushKind::Subscribe, vec![bulk("c"), Value::Int(1)])).is_none());
        assert!(message(push(PushKind::Disconnection, vec![])).is_none());
    }
}
