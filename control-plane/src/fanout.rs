//! Receives the tenant events this replica's WebSockets want from Redis and hands them to
//! those sockets.
//!
//! Events travel on one channel per tenant (`shared::redis_link::events`). A replica
//! subscribes to a tenant's channel while at least one of its sockets watches that tenant,
//! and drops it when the last one closes, so it never receives — let alone parses — the
//! metrics of streams nobody here watches. The first socket of a tenant waits (bounded) for
//! the subscription to be confirmed before its upgrade is answered, so a client that acts
//! right after connecting sees the events of what it did.
//!
//! Audio meters (`audio:levels`, ten a second per stream with sound) travel on a second
//! channel per tenant (`meters_channel`), subscribed only while a socket that asked for
//! them (`?meters=1`) watches the tenant: the other sockets, and replicas with none, never
//! receive them.
//!
//! One subscriber connection per replica feeds a bounded broadcast channel; each socket
//! filters it by tenant and stream. Every string in an event's data is redacted on the way
//! in (`shared::tenant_text`). A socket that falls behind the channel is closed (it re-syncs
//! from the API on reconnect), so one slow client never delays the others.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use shared::backoff::Backoff;
use shared::events::TenantEvent;
use shared::redis_link::events::{Messages, Subscriptions, meters_channel, tenant_channel};
use shared::redis_link::{RedisTarget, Timeouts};
use shared::tenant_text::redact_json;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Events buffered per replica before a slow socket is considered lagging.
pub const FANOUT_CAPACITY: usize = 1024;

/// How long the first socket of a tenant waits for its channel's subscription.
const SUBSCRIBE_WAIT: Duration = Duration::from_secs(2);

const SUBSCRIBER_TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_secs(2),
    response: Duration::from_secs(2),
};

/// One Redis channel of a tenant a socket may need.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Topic {
    /// The tenant's events.
    Events(String),
    /// The tenant's audio meters.
    Meters(String),
}

impl Topic {
    fn channel(&self, ns: &str) -> String {
        match self {
            Topic::Events(t) => tenant_channel(ns, t),
            Topic::Meters(t) => meters_channel(ns, t),
        }
    }
}

enum Request {
    Watch(Topic, oneshot::Sender<()>),
    Unwatch(Topic),
}

struct Inner {
    tx: broadcast::Sender<Arc<TenantEvent>>,
    /// Sockets open per watched topic: the channels this replica must be subscribed to.
    watched: Mutex<HashMap<Topic, usize>>,
    requests: mpsc::UnboundedSender<Request>,
    /// Taken by [`run`].
    pending: Mutex<Option<mpsc::UnboundedReceiver<Request>>>,
}

/// The events this replica's sockets receive, and which tenants they watch.
#[derive(Clone)]
pub struct EventBus(Arc<Inner>);

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// A bus nobody watches yet.
    pub fn new() -> Self {
        let (requests, pending) = mpsc::unbounded_channel();
        EventBus(Arc::new(Inner {
            tx: broadcast::channel(FANOUT_CAPACITY).0,
            watched: Mutex::new(HashMap::new()),
            requests,
            pending: Mutex::new(Some(pending)),
        }))
    }

    /// A receiver of every event this replica gets (sockets filter by tenant and stream).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<TenantEvent>> {
        self.0.tx.subscribe()
    }

    /// Hands an event to the sockets (also used by tests to feed sockets directly).
    pub fn send(
        &self,
        event: Arc<TenantEvent>,
    ) -> Result<usize, broadcast::error::SendError<Arc<TenantEvent>>> {
        self.0.tx.send(event)
    }

    /// Marks `tenant` watched for as long as the returned guard lives; the first watcher
    /// waits until the tenant's channel is subscribed (or [`SUBSCRIBE_WAIT`] passed: events
    /// are best effort, the socket opens anyway).
    pub async fn watch(&self, tenant: &str) -> Watch {
        self.watch_topic(Topic::Events(tenant.to_owned())).await
    }

    /// Like [`EventBus::watch`], for the tenant's audio meters.
    pub async fn watch_meters(&self, tenant: &str) -> Watch {
        self.watch_topic(Topic::Meters(tenant.to_owned())).await
    }

    async fn watch_topic(&self, topic: Topic) -> Watch {
        let first = {
            let mut watched = self.0.watched.lock();
            let n = watched.entry(topic.clone()).or_insert(0);
            *n += 1;
            *n == 1
        };
        let guard = Watch {
            bus: self.clone(),
            topic: Some(topic.clone()),
        };
        if first {
            let (ack, done) = oneshot::channel();
            if self.0.requests.send(Request::Watch(topic, ack)).is_ok() {
                let _ = tokio::time::timeout(SUBSCRIBE_WAIT, done).await;
            }
        }
        guard
    }

    /// Topics watched now.
    fn watched(&self) -> Vec<Topic> {
        self.0.watched.lock().keys().cloned().collect()
    }

    /// Whether any socket still watches `topic` (a late unwatch must not drop a channel a
    /// new socket took again).
    fn is_watched(&self, topic: &Topic) -> bool {
        self.0.watched.lock().contains_key(topic)
    }
}

/// A socket's interest in one of its tenant's channels; dropping it may unsubscribe it.
pub struct Watch {
    bus: EventBus,
    topic: Option<Topic>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let Some(topic) = self.topic.take() else {
            return;
        };
        let last = {
            let mut watched = self.bus.0.watched.lock();
            match watched.get_mut(&topic) {
                Some(n) if *n > 1 => {
                    *n -= 1;
                    false
                }
                Some(_) => {
                    watched.remove(&topic);
                    true
                }
                None => false,
            }
        };
        if last {
            let _ = self.bus.0.requests.send(Request::Unwatch(topic));
        }
    }
}

/// Forwards the watched tenants' events from Redis to `bus` until cancelled, subscribing
/// and unsubscribing as sockets come and go, and reconnecting with backoff after errors.
pub async fn run(target: RedisTarget, ns: String, bus: EventBus, token: CancellationToken) {
    let Some(mut requests) = bus.0.pending.lock().take() else {
        tracing::error!("event fan-out started twice on one bus");
        return;
    };
    let mut backoff = Backoff::new();
    loop {
        let connected = tokio::select! {
            _ = token.cancelled() => return,
            r = connect(&target, &ns, &bus) => r,
        };
        match connected {
            Ok((subs, messages)) => {
                backoff.reset();
                let ended = serve(subs, messages, &mut requests, &ns, &bus, &token).await;
                if token.is_cancelled() {
                    return;
                }
                tracing::warn!(reason = ended, "event subscription lost; resubscribing");
            }
            Err(e) => tracing::warn!(error = %e, "cannot subscribe to events"),
        }
        let wait = backoff.next_delay();
        tracing::debug!(
            retry_in_ms = wait.as_millis() as u64,
            "resubscribing to events"
        );
        // Requests that arrive meanwhile are answered at once: the reconnect subscribes to
        // whatever is watched by then.
        let sleep = tokio::time::sleep(wait);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = token.cancelled() => return,
                _ = &mut sleep => break,
                r = requests.recv() => match r {
                    Some(Request::Watch(_, ack)) => { let _ = ack.send(()); }
                    Some(Request::Unwatch(_)) => {}
                    None => return,
                },
            }
        }
    }
}

/// A subscriber with every tenant watched now already subscribed.
async fn connect(
    target: &RedisTarget,
    ns: &str,
    bus: &EventBus,
) -> redis::RedisResult<(Subscriptions, Messages)> {
    let (mut subs, messages) = target.subscriber(SUBSCRIBER_TIMEOUTS).await?;
    let topics = bus.watched();
    for topic in &topics {
        subs.subscribe(&topic.channel(ns)).await?;
    }
    tracing::info!(channels = topics.len(), "subscribed to tenant events");
    Ok((subs, messages))
}

/// Runs one subscriber connection; returns why it ended.
async fn serve(
    mut subs: Subscriptions,
    mut messages: Messages,
    requests: &mut mpsc::UnboundedReceiver<Request>,
    ns: &str,
    bus: &EventBus,
    token: &CancellationToken,
) -> &'static str {
    loop {
        tokio::select! {
            _ = token.cancelled() => return "stopping",
            r = requests.recv() => match r {
                Some(Request::Watch(topic, ack)) => {
                    let done = subs.subscribe(&topic.channel(ns)).await;
                    let _ = ack.send(());
                    if let Err(e) = done {
                        tracing::warn!(?topic, error = %e, "cannot subscribe a tenant's events");
                        return "subscribe failed";
                    }
                    tracing::debug!(?topic, "watching a tenant's events");
                }
                Some(Request::Unwatch(topic)) if !bus.is_watched(&topic) => {
                    if let Err(e) = subs.unsubscribe(&topic.channel(ns)).await {
                        tracing::warn!(?topic, error = %e, "cannot unsubscribe a tenant's events");
                        return "unsubscribe failed";
                    }
                    tracing::debug!(?topic, "no longer watching a tenant's events");
                }
                Some(Request::Unwatch(_)) => {}
                None => return "bus dropped",
            },
            m = messages.next() => {
                let Some(m) = m else { return "connection closed" };
                match serde_json::from_slice::<TenantEvent>(&m.payload) {
                    // No receivers is normal: the socket may just have closed. Nodes
                    // publish straight to Redis: this is where their texts (GStreamer
                    // errors quoting signed or credentialed URLs) are made fit for tenants.
                    Ok(mut event) => {
                        redact_json(&mut event.event.data);
                        drop(bus.send(Arc::new(event)));
                    }
                    Err(e) => tracing::warn!(channel = %m.channel, error = %e, "ignoring malformed event"),
                }
            }
        }
    }
}
