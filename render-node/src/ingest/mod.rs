//! Ingest (RTMP, SRT and WHIP): tenants' encoders publish to any node, and their feeds become
//! layers of streams running on any node.
//!
//! - [`admit`]: the key check every protocol runs before it takes media.
//! - [`server`]: the RTMP endpoint (`INGEST_ADDR`, `rtmp://HOST/live/{streamKey}`); keys are
//!   checked with the control plane when the publish starts.
//! - [`srt`]: the SRT endpoint (`SRT_ADDR`, stream id `#!::r=live/{streamKey},m=publish`),
//!   its MPEG-TS demuxed into the same tags.
//! - [`whip`]: the WHIP endpoint (`POST /whip/{streamKey}` on the node's HTTP server), a
//!   browser's or OBS's WebRTC re-encoded into the same tags.
//! - [`key_attempts`]: how many key checks an address may cause, and keys just refused.
//! - [`session_io`]: the socket as the RTMP session reads it (EOF, pre-publish budget).
//! - [`per_peer`]: how many connections one source address may hold.
//! - [`hub`]: the feeds published to this node, fanned out to local layers and relays.
//! - [`registry`]: where each feed is published, in Redis.
//! - [`relay`]: both ends of the relay between nodes — the HTTP route serving this node's
//!   feeds (merged into the node's HTTP server) and a feed pulled from another node.
//! - [`source`]: an ingest layer's pixels (the feed, or a slate), reconnecting by itself.
//! - [`flv`]: the tags all of these carry.
//!
//! In a fleet, encoders reach the nodes through one TCP load balancer on the RTMP port, so a
//! publish lands on any node; the node running the stream that shows it pulls it from there
//! (or takes it from its own hub when the publish landed on it). Every second each node
//! re-checks its publishers' keys, so deleting a key cuts its publisher within about a
//! second, and refreshes its feeds' locations, so a dead node's feeds vanish by themselves.
//! Encoder connections run as tracked tasks: on shutdown each is closed and its feed
//! unregistered before the node exits.

pub mod admit;
pub mod flv;
pub mod hub;
pub mod key_attempts;
pub mod per_peer;
pub mod registry;
pub mod relay;
pub mod server;
pub mod session_io;
pub mod source;
pub mod srt;
pub mod whip;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use metrics::{Counter, Gauge};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use shared::events::EventType;
use shared::node_api::keys::REFRESH_EVERY;
use shared::node_api::{FeedLocation, IngestGrant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::links::Links;
use crate::sources::ingest::IngestFeeds;
use crate::system::unix_ms;
use hub::{Cut, Feed, FeedHub};
use registry::{Refresh, Registry};

/// A node's ingest: its RTMP endpoint, its published feeds, and its ingest layers' sources.
pub struct Ingest {
    links: Arc<Links>,
    node_id: String,
    /// Where other nodes pull this node's feeds (`NODE_ADVERTISE_ADDR`).
    relay_addr: String,
    addr: Option<SocketAddr>,
    /// Where SRT publishers call (`SRT_ADDR`), and the receive latency it offers.
    srt: Option<(SocketAddr, Duration)>,
    pub hub: FeedHub,
    registry: Registry,
    relay_http: reqwest::Client,
    runtime: tokio::runtime::Handle,
    /// Encoder connections: shutdown waits for each to close and clean up.
    connections: TaskTracker,
    feeds_gauge: Gauge,
    accepted: Counter,
    refused: Counter,
    /// Key checks by source address, and keys just refused.
    key_attempts: key_attempts::KeyAttempts,
    /// WHIP publishes, by session.
    whip: whip::Sessions,
}

impl Ingest {
    /// Ingest for the node with `links`; its ingest layers' tasks run on `runtime`.
    pub fn new(links: Arc<Links>, runtime: tokio::runtime::Handle) -> anyhow::Result<Arc<Self>> {
        let cfg = &links.cfg;
        let m = &links.metrics;
        Ok(Arc::new(Ingest {
            node_id: cfg.node_id.clone(),
            relay_addr: cfg.advertise_addr.clone(),
            addr: cfg.ingest_addr,
            srt: cfg.srt_addr.map(|a| (a, cfg.srt_latency)),
            hub: FeedHub::default(),
            registry: Registry::new(cfg.redis_url.expose_secret(), &cfg.namespace)?,
            relay_http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(2))
                .build()?,
            runtime,
            connections: TaskTracker::new(),
            feeds_gauge: m.gauge("ingest_feeds"),
            accepted: m.counter("ingest_publishes_total", &[("result", "accepted")]),
            refused: m.counter("ingest_publishes_total", &[("result", "refused")]),
            key_attempts: key_attempts::KeyAttempts::default(),
            whip: whip::Sessions::default(),
            links,
        }))
    }

    /// The sources the engine gives ingest layers.
    pub fn feeds(self: &Arc<Self>) -> Arc<dyn IngestFeeds> {
        Arc::new(source::NodeFeeds {
            ingest: self.clone(),
        })
    }

    /// The shared secret other nodes sign relay requests with.
    pub fn node_secret(&self) -> &SecretString {
        &self.links.cfg.node_secret
    }

    /// Serves RTMP (when `INGEST_ADDR` is set) and SRT (when `SRT_ADDR` is) and watches the
    /// publishers until `token` is cancelled, then waits for every encoder connection to
    /// close and clean up.
    pub async fn run(self: Arc<Self>, token: CancellationToken) {
        let server = self
            .addr
            .map(|addr| tokio::spawn(server::serve(self.clone(), addr, token.clone())));
        let srt = self.srt.map(|(addr, latency)| {
            tokio::spawn(srt::serve(self.clone(), addr, latency, token.clone()))
        });
        self.watch(&token).await;
        self.whip.stopping.cancel();
        for s in [server, srt].into_iter().flatten() {
            let _ = s.await;
        }
        self.connections.close();
        self.connections.wait().await;
    }

    fn location(&self, feed: &Feed) -> FeedLocation {
        FeedLocation {
            key_id: feed.owner.key_id,
            tenant_id: feed.owner.tenant_id.clone(),
            stream_id: feed.owner.stream_id,
            node_id: self.node_id.clone(),
            session: feed.session,
            relay_addr: self.relay_addr.clone(),
            since: feed.since,
        }
    }

    /// A publish was admitted: make it findable and tell the tenant.
    async fn published(&self, owner: IngestGrant, cut: Arc<Cut>) -> Arc<Feed> {
        let feed = self.hub.publish(owner, cut, unix_ms());
        let o = &feed.owner;
        tracing::info!(key_id = %o.key_id, tenant = %o.tenant_id, stream_id = %o.stream_id, node_id = %self.node_id, "encoder publishing");
        self.registry.refresh(&self.location(&feed)).await;
        self.registry
            .redis()
            .publish(
                &o.tenant_id,
                o.stream_id,
                EventType::IngestConnected,
                json!({ "keyId": o.key_id, "nodeId": self.node_id, "since": feed.since }),
            )
            .await;
        feed
    }

    /// A publish ended (encoder gone, key deleted, replaced, node stopping).
    async fn unpublished(&self, feed: &Feed, reason: &str) {
        if !self.hub.remove(feed) {
            return;
        }
        let o = &feed.owner;
        tracing::info!(key_id = %o.key_id, tenant = %o.tenant_id, stream_id = %o.stream_id, %reason, "encoder stopped publishing");
        self.registry.remove(&self.location(feed)).await;
        self.registry
            .redis()
            .publish(
                &o.tenant_id,
                o.stream_id,
                EventType::IngestDisconnected,
                json!({ "keyId": o.key_id, "nodeId": self.node_id, "reason": reason }),
            )
            .await;
    }

    /// Every second: keeps the feeds' locations alive and cuts publishers whose key was
    /// deleted or that a newer publish elsewhere replaced.
    async fn watch(&self, token: &CancellationToken) {
        let mut tick = tokio::time::interval(REFRESH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = token.cancelled() => return,
                _ = tick.tick() => {}
            }
            let feeds = self.hub.all();
            self.feeds_gauge.set(feeds.len() as f64);
            if feeds.is_empty() {
                continue;
            }
            for f in &feeds {
                if self.registry.refresh(&self.location(f)).await == Refresh::Superseded {
                    f.cut.cut("replaced by a newer publisher with the same key");
                }
            }
            let ids = feeds.iter().map(|f| f.owner.key_id).collect();
            match self.links.control.check_ingest(ids).await {
                Ok(Ok(revoked)) => {
                    for f in feeds.iter().filter(|f| revoked.contains(&f.owner.key_id)) {
                        f.cut.cut("stream key deleted");
                    }
                }
                // Publishers stay while the control plane is away: they were admitted.
                Ok(Err(status)) => tracing::debug!(%status, "ingest keys not re-checked"),
                Err(e) => tracing::debug!(error = %e, "cannot re-check ingest keys"),
            }
        }
    }
}
