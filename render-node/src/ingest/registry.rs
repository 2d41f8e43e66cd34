//! Where each live feed is published, in Redis: the node running a stream with an ingest
//! layer looks its key up there to find the node to pull from. Entries expire unless the
//! publishing node refreshes them, so a dead node's feeds disappear by themselves.

use redis::AsyncCommands;
use shared::node_api::keys::FEED_LOCATION_TTL;
use shared::node_api::{FeedLocation, feed_key};
use uuid::Uuid;

use crate::links::LiveState;

/// What refreshing a location found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// Ours (or written now): the feed stays.
    Held,
    /// A newer publish of the same key on another node: ours must be cut.
    Superseded,
    /// Redis could not be asked; try again next time.
    Unknown,
}

/// The feed locations in Redis.
pub struct Registry {
    redis: LiveState,
}

impl Registry {
    /// Uses its own Redis connection, so ingest never waits behind the node's reports.
    pub fn new(url: &str, ns: &str) -> Result<Self, shared::redis_link::RedisUrlError> {
        Ok(Registry {
            redis: LiveState::new(url, ns)?,
        })
    }

    /// The Redis writer this registry uses (also for ingest events).
    pub fn redis(&self) -> &LiveState {
        &self.redis
    }

    /// Where `key_id` is published now, if anywhere.
    pub async fn lookup(&self, key_id: Uuid) -> Option<FeedLocation> {
        let mut c = self.redis.conn().await?;
        let raw: Option<String> = c.get(feed_key(self.redis.namespace(), key_id)).await.ok()?;
        raw.and_then(|s| serde_json::from_str(&s).ok())
    }

    /// Writes (or keeps alive) `loc`, unless a newer publish of its key took over.
    pub async fn refresh(&self, loc: &FeedLocation) -> Refresh {
        let Some(mut c) = self.redis.conn().await else {
            return Refresh::Unknown;
        };
        let key = feed_key(self.redis.namespace(), loc.key_id);
        let current: Option<String> = match c.get(&key).await {
            Ok(v) => v,
            Err(_) => return Refresh::Unknown,
        };
        if let Some(other) = current.and_then(|s| serde_json::from_str::<FeedLocation>(&s).ok())
            && other.session != loc.session
            && other.since > loc.since
        {
            return Refresh::Superseded;
        }
        let Ok(json) = serde_json::to_string(loc) else {
            return Refresh::Unknown;
        };
        match c
            .set_ex::<_, _, ()>(&key, json, FEED_LOCATION_TTL.as_secs())
            .await
        {
            Ok(()) => Refresh::Held,
            Err(_) => Refresh::Unknown,
        }
    }

    /// Removes `loc` if it is still the key's entry (a newer publish elsewhere keeps its own).
    pub async fn remove(&self, loc: &FeedLocation) {
        if self
            .lookup(loc.key_id)
            .await
            .is_some_and(|l| l.session == loc.session)
            && let Some(mut c) = self.redis.conn().await
        {
            let _: Result<(), _> = c.del(feed_key(self.redis.namespace(), loc.key_id)).await;
        }
    }
}
