//! The streams this node runs, each with the lease it holds.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use shared::node_api::Held;
use shared::status::{LiveReport, StreamState};
use uuid::Uuid;

use crate::engine::RunningStream;

/// One running stream.
pub struct HeldStream {
    pub handle: Box<dyn RunningStream>,
    pub tenant: String,
    /// The fencing epoch of our claim.
    pub epoch: i64,
    /// Whether the control plane was told the stream is live.
    announced_live: AtomicBool,
    /// The last report written, to publish `stream:status` only on changes and to show
    /// the stream's metrics between reports.
    last_report: Mutex<Option<LiveReport>>,
}

impl HeldStream {
    /// A stream just started under the lease of `epoch`.
    pub fn new(handle: Box<dyn RunningStream>, tenant: String, epoch: i64) -> Self {
        HeldStream {
            handle,
            tenant,
            epoch,
            announced_live: AtomicBool::new(false),
            last_report: Mutex::new(None),
        }
    }

    /// Whether the control plane still has to hear that this stream is live.
    pub fn needs_live_announcement(&self) -> bool {
        !self.announced_live.load(Ordering::Relaxed)
    }

    /// Marks the live announcement as done.
    pub fn announced(&self) {
        self.announced_live.store(true, Ordering::Relaxed);
    }

    /// Records the report written, telling whether the stream's state changed with it.
    pub fn reported(&self, report: &LiveReport) -> bool {
        let mut last = self.last_report.lock();
        let before = last.as_ref().map_or(StreamState::Starting, |r| r.state);
        *last = Some(report.clone());
        before != report.state
    }

    /// The last report written, if any.
    pub fn last_report(&self) -> Option<LiveReport> {
        self.last_report.lock().clone()
    }
}

/// The node's streams by id.
#[derive(Default)]
pub struct HeldStreams {
    map: Mutex<HashMap<Uuid, Arc<HeldStream>>>,
}

impl HeldStreams {
    /// How many streams run here.
    pub fn len(&self) -> usize {
        self.map.lock().len()
    }

    /// Whether none runs.
    pub fn is_empty(&self) -> bool {
        self.map.lock().is_empty()
    }

    /// The stream, if this node runs it.
    pub fn get(&self, id: Uuid) -> Option<Arc<HeldStream>> {
        self.map.lock().get(&id).cloned()
    }

    /// Whether `held` is the stream this node runs as `id` (not an earlier run of it).
    pub fn holds(&self, id: Uuid, held: &Arc<HeldStream>) -> bool {
        self.get(id).is_some_and(|h| Arc::ptr_eq(&h, held))
    }

    /// Records a started stream.
    pub fn insert(&self, id: Uuid, stream: HeldStream) -> Arc<HeldStream> {
        let s = Arc::new(stream);
        self.map.lock().insert(id, s.clone());
        s
    }

    /// Forgets a stream, returning it.
    pub fn remove(&self, id: Uuid) -> Option<Arc<HeldStream>> {
        self.map.lock().remove(&id)
    }

    /// Every stream with its id.
    pub fn all(&self) -> Vec<(Uuid, Arc<HeldStream>)> {
        self.map
            .lock()
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect()
    }

    /// The leases to renew.
    pub fn leases(&self) -> Vec<Held> {
        self.map
            .lock()
            .iter()
            .map(|(id, s)| Held {
                stream_id: *id,
                epoch: s.epoch,
            })
            .collect()
    }
}
