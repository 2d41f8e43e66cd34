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
use shared::redis_link::events::{Messages, Subscriptions, tenant_channel};
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

enum Request {
    Watch(String, oneshot::Sender<()>),
    Unwatch(String),
}

struct Inner {
    tx: broadcast::Sender<Arc<TenantEvent>>,
    /// Sockets open per watched tenant: the channels this replica must be subscribed to.
    watched: Mutex<HashMap<String, usize>>,
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
        let first = {
            let mut watched = self.0.watched.lock();
            let n = watched.entry(tenant.to_owned()).or_insert(0);
            *n += 1;
            *n == 1
        };
        let guard = Watch {
            bus: self.clone(),
            tenant: tenant.to_owned(),
        };
        if first {
            let (ack, done) = oneshot::channel();
            if self
                .0
                .requests
                .send(Request::Watch(tenant.to_owned(), ack))
                .is_ok()
            {
                let _ = tokio::time::timeout(SUBSCRIBE_WAIT, done).await;
            }
        }
        guard
    }

    /// Tenants watched now.
    fn watched(&self) -> Vec<String> {
        self.0.watched.lock().keys().cloned().collect()
    }

    /// Whether any socket still watches `tenant` (a late unwatch must not drop a channel a
    /// new socket took again).
    fn is_watched(&self, tenant: &str) -> bool {
        self.0.watched.lock().contains_key(tenant)
    }
}

/// A socket's interest in its tenant's events; dropping it may unsubscribe the channel.
pub struct Watch {
    bus: EventBus,
    tenant: String,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let last = {
            let mut watched = self.bus.0.watched.lock();
            match watched.get_mut(&self.tenant) {
                Some(n) if *n > 1 => {
                    *n -= 1;
                    false
                }
                Some(_) => {
                    watched.remove(&self.tenant);
                    true
                }
                None => false,
            }
        };
        if last {
            let _ = self
                .bus
                .0
                .requests
                .send(Request::Unwatch(std::mem::take(&mut self.tenant)));
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
    let tenants = bus.watched();
    for tenant in &tenants {
        subs.subscribe(&tenant_channel(ns, tenant)).await?;
    }
    tracing::info!(tenants = tenants.len(), "subscribed to tenant events");
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
                Some(Request::Watch(tenant, ack)) => {
                    let done = subs.subscribe(&tenant_channel(ns, &tenant)).await;
                    let _ = ack.send(());
                    if let Err(e) = done {
                        tracing::warn!(%tenant, error = %e, "cannot subscribe a tenant's events");
                        return "subscribe failed";
                    }
                    tracing::debug!(%tenant, "watching a tenant's events");
                }
                Some(Request::Unwatch(tenant)) if !bus.is_watched(&tenant) => {
                    if let Err(e) = subs.unsubscribe(&tenant_channel(ns, &tenant)).await {
                        tracing::warn!(%tenant, error = %e, "cannot unsubscribe a tenant's events");
                        return "unsubscribe failed";
                    }
                    tracing::debug!(%tenant, "no longer watching a tenant's events");
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
