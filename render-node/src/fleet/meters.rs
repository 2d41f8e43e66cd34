//! Ten times a second: each stream's audio levels (`audio:levels`) on its tenant's meter
//! channel — but only while someone listens.
//!
//! Meters are the busiest event there is (ten a second per stream, against one
//! `metrics:update`), so they have their own channel (`shared::redis_link::events::
//! meters_channel`), which a control-plane replica subscribes to only while one of its
//! sockets asked for meters. A publish answers how many replicas received it: after one
//! that reached nobody, the tenant's meters are only tried again once a second, so a node
//! whose tenants watch no meters costs Redis one small publish per stream a second.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use shared::audio::METER_HZ;
use tokio_util::sync::CancellationToken;

use super::node::Node;

/// How often a tenant nobody listens to is tried again.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// Whether a tenant's meters are worth publishing now.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    /// Tenants whose last publish reached nobody, and when that was.
    unheard: HashMap<String, Instant>,
}

impl Gate {
    /// Whether to publish `tenant`'s meters at `now`.
    pub(crate) fn open(&self, tenant: &str, now: Instant) -> bool {
        self.unheard
            .get(tenant)
            .is_none_or(|at| now.duration_since(*at) >= PROBE_EVERY)
    }

    /// Records how many replicas received `tenant`'s last publish (`None`: Redis did not
    /// answer, which says nothing about listeners).
    pub(crate) fn heard(&mut self, tenant: &str, receivers: Option<i64>, now: Instant) {
        match receivers {
            Some(0) => {
                self.unheard.insert(tenant.to_owned(), now);
            }
            Some(_) => {
                self.unheard.remove(tenant);
            }
            None => {}
        }
    }
}

/// Publishes the meters of every stream with audio until `token` is cancelled.
pub(crate) async fn meter_loop(node: Arc<Node>, token: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / u64::from(METER_HZ)));
    // A late tick is dropped, not caught up: a burst of old meters is worth nothing.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut gate = Gate::default();
    loop {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tick.tick() => {}
        }
        for (id, held) in node.held.all() {
            // Read every tick even when not published, so a meter always covers one period.
            let Some(levels) = held.handle.audio_levels() else {
                continue;
            };
            let now = Instant::now();
            if !gate.open(&held.tenant, now) {
                continue;
            }
            let Ok(data) = serde_json::to_value(&levels) else {
                continue;
            };
            let receivers = node.links.live.publish_meters(&held.tenant, id, data).await;
            gate.heard(&held.tenant, receivers, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_nobody_hears_is_only_probed() {
        let t0 = Instant::now();
        let mut gate = Gate::default();
        assert!(gate.open("acme", t0));
        gate.heard("acme", Some(0), t0);
        assert!(!gate.open("acme", t0 + Duration::from_millis(100)));
        assert!(gate.open("other", t0));
        assert!(gate.open("acme", t0 + PROBE_EVERY));
        // A redis hiccup changes nothing; a listener opens the gate again.
        gate.heard("acme", None, t0);
        assert!(!gate.open("acme", t0 + Duration::from_millis(100)));
        gate.heard("acme", Some(1), t0);
        assert!(gate.open("acme", t0 + Duration::from_millis(100)));
    }
}
