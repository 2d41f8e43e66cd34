//! The streams this node runs, each with the lease it holds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use shared::node_api::Held;
use shared::status::StreamState;
use uuid::Uuid;

use crate::engine::StreamHandle;

/// One running stream.
pub struct HeldStream {
    pub handle: StreamHandle,
    pub tenant: String,
    /// The fencing epoch of our claim.
    pub epoch: i64,
    /// Whether the control plane was told the stream is live.
    pub announced_live: AtomicBool,
    /// The last state reported, to publish `stream:status` only on changes.
    pub last_state: Mutex<StreamState>,
}

/// The node's streams by id.
#[derive(Default)]
pub struct HeldStreams {
    map: Mutex<HashMap<Uuid, Arc<HeldStream>>>,
}

impl HeldStreams {
    fn lock(&self) -> MutexGuard<'_, HashMap<Uuid, Arc<HeldStream>>> {
        // A panic while holding this lock cannot leave the map half-updated (single inserts
        // and removes), so a poisoned lock is still safe to use.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many streams run here.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none runs.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// The stream, if this node runs it.
    pub fn get(&self, id: Uuid) -> Option<Arc<HeldStream>> {
        self.lock().get(&id).cloned()
    }

    /// Records a started stream.
    pub fn insert(&self, id: Uuid, stream: HeldStream) -> Arc<HeldStream> {
        let s = Arc::new(stream);
        self.lock().insert(id, s.clone());
        s
    }

    /// Forgets a stream, returning it.
    pub fn remove(&self, id: Uuid) -> Option<Arc<HeldStream>> {
        self.lock().remove(&id)
    }

    /// Every stream with its id.
    pub fn all(&self) -> Vec<(Uuid, Arc<HeldStream>)> {
        self.lock().iter().map(|(k, v)| (*k, v.clone())).collect()
    }

    /// The leases to renew.
    pub fn leases(&self) -> Vec<Held> {
        self.lock()
            .iter()
            .map(|(id, s)| Held {
                stream_id: *id,
                epoch: s.epoch,
            })
            .collect()
    }
}

impl HeldStream {
    /// Whether the control plane still has to hear that this stream is live.
    pub fn needs_live_announcement(&self) -> bool {
        !self.announced_live.load(Ordering::Relaxed)
    }

    /// Marks the live announcement as done.
    pub fn announced(&self) {
        self.announced_live.store(true, Ordering::Relaxed);
    }

    /// Records the state, telling whether it changed.
    pub fn state_changed(&self, now: StreamState) -> bool {
        let mut last = self.last_state.lock().unwrap_or_else(|p| p.into_inner());
        let changed = *last != now;
        *last = now;
        changed
    }
}
