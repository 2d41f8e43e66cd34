//! An ingest layer's pixels: the feed published with its key, wherever in the fleet that
//! is, or a slate while there is none.
//!
//! A task per layer finds the feed (this node's hub first, else the registry and the relay
//! of the node it is published to), starts a decoder for it and pushes its tags in. The
//! render thread only ever takes the newest decoded frame, so a feed of another size or
//! frame rate, a stall or a drop never holds up the output: the layer keeps its last frame
//! for a moment, then shows the slate, and the task reconnects by itself when the encoder
//! is back.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use secrecy::ExposeSecret;

use tokio::sync::broadcast;
use tokio::sync::mpsc as async_mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::Ingest;
use super::flv::{Tag, file_header};
use super::hub::Subscription;
use super::relay::RemoteFeed;
use crate::compose::FrameSource;
use crate::compose::canvas::PlanarView;
use crate::sources::ingest::{FeedRequest, IngestFeeds};
use crate::sources::live_slot::LiveSlot;
use crate::sources::video::{AppsinkSource, MovingKind};

/// How often a layer looks for its feed while there is none.
const LOOK_EVERY: Duration = Duration::from_millis(250);

/// The fleet node's [`IngestFeeds`]: every ingest layer gets an [`IngestSource`].
pub struct NodeFeeds {
    pub(super) ingest: Arc<Ingest>,
}

impl IngestFeeds for NodeFeeds {
    fn open(&self, req: FeedRequest) -> Option<Box<dyn FrameSource>> {
        Some(Box::new(IngestSource::start(self.ingest.clone(), req)))
    }
}

/// Tags of a feed, from this node's hub or from another node's relay.
enum TagSource {
    Local {
        initial: VecDeque<Tag>,
        live: broadcast::Receiver<Tag>,
    },
    Remote(RemoteFeed),
}

impl TagSource {
    fn local(sub: Subscription) -> Self {
        TagSource::Local {
            initial: sub.initial.into(),
            live: sub.live,
        }
    }

    /// The next tag; `None` when the feed ended (or this reader fell behind and must start
    /// again from a keyframe).
    async fn next(&mut self) -> Option<Tag> {
        match self {
            TagSource::Local { initial, live } => match initial.pop_front() {
                Some(t) => Some(t),
                None => live.recv().await.ok(),
            },
            TagSource::Remote(r) => r.next().await,
        }
    }
}

impl Ingest {
    /// The feed of `req.key_id` if it is published anywhere, and belongs to `req`'s tenant.
    async fn locate(&self, req: &FeedRequest) -> Option<TagSource> {
        if let Some(sub) = self.hub.subscribe(req.key_id) {
            return self
                .same_tenant(req, &sub.owner.tenant_id)
                .then(|| TagSource::local(sub));
        }
        let loc = self.registry.lookup(req.key_id).await?;
        if loc.node_id == self.node_id || !self.same_tenant(req, &loc.tenant_id) {
            // Our own entry without a feed in the hub: it just ended and is being removed.
            return None;
        }
        let url = super::relay::feed_url(
            &loc.relay_addr,
            req.key_id,
            self.node_secret().expose_secret(),
        );
        let remote = RemoteFeed::open(&self.relay_http, &url).await?;
        tracing::info!(key_id = %req.key_id, from_node = %loc.node_id, "pulling a feed from the node it is published to");
        Some(TagSource::Remote(remote))
    }

    fn same_tenant(&self, req: &FeedRequest, owner: &str) -> bool {
        let same = req.tenant_id == owner;
        if !same {
            tracing::warn!(key_id = %req.key_id, tenant = %req.tenant_id, "ingest layer names another tenant's key; not shown");
        }
        same
    }
}

/// A live feed as a layer: the decoder the connecting task handed over, or the slate.
pub struct IngestSource {
    key_id: Uuid,
    slot: LiveSlot,
    /// Decoders replaced by newer ones go back to the task to be torn down off this thread.
    retired: async_mpsc::UnboundedSender<AppsinkSource>,
    stop: CancellationToken,
}

impl IngestSource {
    /// Starts looking for the feed.
    pub fn start(ingest: Arc<Ingest>, req: FeedRequest) -> Self {
        let (slot, to_slot) = LiveSlot::new(req.width, req.height);
        let (retired, retired_rx) = async_mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let key_id = req.key_id;
        ingest.runtime.spawn(connect_loop(
            ingest.clone(),
            req,
            slot.audible.clone(),
            slot.size.clone(),
            to_slot,
            retired_rx,
            stop.clone(),
        ));
        IngestSource {
            key_id,
            slot,
            retired,
            stop,
        }
    }
}

impl FrameSource for IngestSource {
    fn set_size(&mut self, width: u32, height: u32) {
        self.slot.set_size(width, height);
    }

    fn frame(&mut self) -> Option<PlanarView<'_>> {
        let retired = &self.retired;
        self.slot.take_handed_over(|old| {
            let _ = retired.send(old);
        });
        let now = Instant::now();
        self.slot.pull(now);
        self.slot.view(now)
    }

    fn describe(&self) -> String {
        format!("ingest:{}", self.key_id)
    }

    fn fresh_at(&self) -> Option<Instant> {
        self.slot.last_new()
    }

    fn set_audible(&mut self, audible: bool) {
        self.slot.set_audible(audible);
    }
}

impl Drop for IngestSource {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Finds the feed, decodes it into the layer, and starts over whenever it ends.
async fn connect_loop(
    ingest: Arc<Ingest>,
    req: FeedRequest,
    audible: Arc<AtomicBool>,
    size: Arc<Mutex<(u32, u32)>>,
    to_layer: mpsc::Sender<AppsinkSource>,
    mut retired: async_mpsc::UnboundedReceiver<AppsinkSource>,
    stop: CancellationToken,
) {
    let key_id = req.key_id;
    'connect: while !stop.is_cancelled() {
        while let Ok(old) = retired.try_recv() {
            tokio::task::spawn_blocking(move || drop(old));
        }
        let source = tokio::select! {
            _ = stop.cancelled() => break,
            s = ingest.locate(&req) => s,
        };
        let Some(mut source) = source else {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(LOOK_EVERY) => continue,
            }
        };
        let (w, h) = *size.lock();
        let (audio, on_error, crop) = (req.audio.clone(), req.on_error.clone(), req.crop);
        let started = tokio::task::spawn_blocking(move || {
            let input = audio.and_then(|port| port.add_input().ok());
            AppsinkSource::start(
                &MovingKind::Feed(format!("ingest:{key_id}")),
                None,
                w,
                h,
                30,
                true,
                input,
                on_error,
                crop,
            )
        })
        .await;
        let decoder = match started {
            Ok(Ok(d)) => d,
            Ok(Err(e)) => {
                tracing::warn!(%key_id, error = %e, "cannot decode a feed; retrying");
                tokio::time::sleep(LOOK_EVERY * 4).await;
                continue;
            }
            Err(_) => break,
        };
        let Some(input) = decoder.feed_input().cloned() else {
            continue;
        };
        // Before any tag is pushed: a rung off air is never heard, even for a moment.
        decoder.set_muted(!audible.load(Ordering::Relaxed));
        if to_layer.send(decoder).is_err() {
            break;
        }
        tracing::info!(%key_id, "feed on air");
        let _ = input.push_buffer(gstreamer::Buffer::from_slice(file_header()));
        loop {
            let tag = tokio::select! {
                _ = stop.cancelled() => break 'connect,
                t = source.next() => t,
            };
            let Some(tag) = tag else { break };
            if input
                .push_buffer(gstreamer::Buffer::from_slice(tag.to_bytes()))
                .is_err()
            {
                // The decoder is shutting down (replaced or stopped).
                break;
            }
        }
        let _ = input.end_of_stream();
        tracing::info!(%key_id, "feed ended; waiting for it to come back");
    }
    while let Ok(old) = retired.try_recv() {
        tokio::task::spawn_blocking(move || drop(old));
    }
}
