//! The feeds published to this node: one per stream key, fanned out to every subscriber (a
//! local ingest layer, or the relay to another node).
//!
//! Each feed keeps the latest decoder configuration and the video of the current group of
//! pictures, so a subscriber that joins mid-stream starts decoding at once from a keyframe
//! instead of waiting up to a keyframe interval. Audio is not kept: replayed audio would
//! only arrive late at the mixer.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use shared::node_api::IngestGrant;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::flv::{Tag, TagKind};

/// Tags a subscriber may fall behind by before it is dropped (about 10 s of a feed).
const FANOUT_TAGS: usize = 1024;
/// A group of pictures larger than this is not kept (a joining subscriber waits for the next
/// keyframe instead): it bounds each feed's memory whatever the encoder sends.
const MAX_GOP_BYTES: usize = 16 << 20;

/// Cuts a publisher: its connection is closed, saying why.
#[derive(Debug, Default)]
pub struct Cut {
    token: CancellationToken,
    reason: Mutex<Option<&'static str>>,
}

impl Cut {
    /// Asks the connection to close; the first reason given is kept.
    pub fn cut(&self, reason: &'static str) {
        self.reason.lock().get_or_insert(reason);
        self.token.cancel();
    }

    /// Resolves once the publisher is cut.
    pub async fn cancelled(&self) {
        self.token.cancelled().await
    }

    /// Why it was cut, if it was.
    pub fn reason(&self) -> Option<&'static str> {
        *self.reason.lock()
    }
}

#[derive(Debug, Default)]
struct Cache {
    video_header: Option<Tag>,
    audio_header: Option<Tag>,
    gop: Vec<Tag>,
    gop_bytes: usize,
}

/// One publish of one stream key.
#[derive(Debug)]
pub struct Feed {
    pub owner: IngestGrant,
    /// Tells this publish apart from an earlier or later one with the same key.
    pub session: Uuid,
    /// Unix milliseconds when it started.
    pub since: i64,
    pub cut: Arc<Cut>,
    tx: broadcast::Sender<Tag>,
    cache: Mutex<Cache>,
}

/// What a subscriber starts from, then receives live.
#[derive(Debug)]
pub struct Subscription {
    pub owner: IngestGrant,
    /// Decoder configuration and the current group of pictures, oldest first.
    pub initial: Vec<Tag>,
    pub live: broadcast::Receiver<Tag>,
}

impl Feed {
    /// Sends a tag to every subscriber and keeps what a new one will need.
    pub fn push(&self, tag: Tag) {
        let mut c = self.cache.lock();
        if tag.is_sequence_header() {
            match tag.kind {
                TagKind::Video => {
                    c.video_header = Some(tag.clone());
                    c.gop.clear();
                    c.gop_bytes = 0;
                }
                TagKind::Audio => c.audio_header = Some(tag.clone()),
            }
        } else if tag.kind == TagKind::Video {
            if tag.is_keyframe() {
                c.gop.clear();
                c.gop_bytes = 0;
            }
            // Without the keyframe it started from, a group is useless: keep none.
            if (tag.is_keyframe() || !c.gop.is_empty())
                && c.gop_bytes + tag.data.len() <= MAX_GOP_BYTES
            {
                c.gop_bytes += tag.data.len();
                c.gop.push(tag.clone());
            } else {
                c.gop.clear();
                c.gop_bytes = 0;
            }
        }
        // No subscriber is fine; sending under the cache lock keeps subscribe() gap-free.
        let _ = self.tx.send(tag);
    }

    fn subscribe(&self) -> Subscription {
        let c = self.cache.lock();
        let initial = c
            .video_header
            .iter()
            .chain(c.audio_header.iter())
            .chain(c.gop.iter())
            .cloned()
            .collect();
        Subscription {
            owner: self.owner.clone(),
            initial,
            live: self.tx.subscribe(),
        }
    }
}

/// Every feed published to this node, by key id.
#[derive(Debug, Default)]
pub struct FeedHub {
    feeds: Mutex<HashMap<Uuid, Arc<Feed>>>,
}

impl FeedHub {
    /// Registers a new publish of `owner`'s key. A publish already using the key is cut: an
    /// encoder reconnecting after a network failure must not wait for its old connection to
    /// time out.
    pub fn publish(&self, owner: IngestGrant, cut: Arc<Cut>, since: i64) -> Arc<Feed> {
        let (tx, _) = broadcast::channel(FANOUT_TAGS);
        let feed = Arc::new(Feed {
            session: Uuid::new_v4(),
            since,
            owner,
            cut,
            tx,
            cache: Mutex::default(),
        });
        let old = self.feeds.lock().insert(feed.owner.key_id, feed.clone());
        if let Some(old) = old {
            old.cut.cut("replaced by a new publisher with the same key");
        }
        feed
    }

    /// Forgets `feed` if it is still the key's current publish; true when it was.
    pub fn remove(&self, feed: &Feed) -> bool {
        let mut feeds = self.feeds.lock();
        match feeds.get(&feed.owner.key_id) {
            Some(f) if f.session == feed.session => {
                feeds.remove(&feed.owner.key_id);
                true
            }
            _ => false,
        }
    }

    /// The live feed of `key_id`, from its cached start.
    pub fn subscribe(&self, key_id: Uuid) -> Option<Subscription> {
        let feed = self.feeds.lock().get(&key_id).cloned()?;
        Some(feed.subscribe())
    }

    /// Every current feed.
    pub fn all(&self) -> Vec<Arc<Feed>> {
        self.feeds.lock().values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn grant(key: u128) -> IngestGrant {
        IngestGrant {
            key_id: Uuid::from_u128(key),
            tenant_id: "t".into(),
            stream_id: Uuid::nil(),
        }
    }

    fn video(ts: u32, first: u8, second: u8) -> Tag {
        Tag {
            kind: TagKind::Video,
            timestamp: ts,
            data: Bytes::from(vec![first, second, 0, 0, 0]),
        }
    }

    #[test]
    fn a_late_subscriber_starts_from_the_headers_and_the_last_keyframe() {
        let hub = FeedHub::default();
        let feed = hub.publish(grant(1), Arc::default(), 0);
        let header = video(0, 0x17, 0);
        let aac = Tag {
            kind: TagKind::Audio,
            timestamp: 0,
            data: Bytes::from_static(&[0xAF, 0, 0x12, 0x10]),
        };
        feed.push(header.clone());
        feed.push(aac.clone());
        feed.push(video(0, 0x17, 1));
        feed.push(video(33, 0x27, 1));
        let key = video(66, 0x17, 1);
        let inter = video(100, 0x27, 1);
        feed.push(key.clone());
        feed.push(Tag {
            kind: TagKind::Audio,
            timestamp: 90,
            data: Bytes::from_static(&[0xAF, 1, 1]),
        });
        feed.push(inter.clone());
        let mut sub = hub.subscribe(Uuid::from_u128(1)).unwrap();
        assert_eq!(sub.initial, vec![header, aac, key, inter]);
        let next = video(133, 0x27, 1);
        feed.push(next.clone());
        assert_eq!(sub.live.try_recv().unwrap(), next);
    }

    #[test]
    fn a_new_publish_with_the_same_key_cuts_the_old_one() {
        let hub = FeedHub::default();
        let old = hub.publish(grant(1), Arc::default(), 0);
        let new = hub.publish(grant(1), Arc::default(), 1);
        assert!(old.cut.reason().is_some());
        assert!(new.cut.reason().is_none());
        // The old session ending later must not remove the new one.
        assert!(!hub.remove(&old));
        assert!(hub.subscribe(Uuid::from_u128(1)).is_some());
        assert!(hub.remove(&new));
        assert!(hub.subscribe(Uuid::from_u128(1)).is_none());
    }

    #[test]
    fn subscribers_see_the_end_of_a_removed_feed() {
        let hub = FeedHub::default();
        let feed = hub.publish(grant(2), Arc::default(), 0);
        let mut sub = hub.subscribe(Uuid::from_u128(2)).unwrap();
        hub.remove(&feed);
        drop(feed);
        assert!(matches!(
            sub.live.try_recv(),
            Err(broadcast::error::TryRecvError::Closed)
        ));
    }
}
