//! Per-tenant WebSocket counts on this replica.
//!
//! The cap is per replica on purpose: what one tenant's sockets exhaust is this process's
//! file descriptors and memory, which other tenants' API calls on the same replica need. A
//! socket holds its slot for as long as it lives; the slot comes back when it is dropped,
//! whatever ends it.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

/// Open sockets per tenant.
#[derive(Clone, Default)]
pub struct SocketCounts(Arc<Mutex<HashMap<String, u64>>>);

/// One open socket's slot; dropping it frees the slot.
pub struct SocketSlot {
    counts: SocketCounts,
    tenant: String,
}

impl SocketCounts {
    /// A slot for one more of `tenant`'s sockets, unless it already has `limit`.
    pub fn try_open(&self, tenant: &str, limit: u64) -> Option<SocketSlot> {
        let mut counts = self.0.lock();
        let n = counts.entry(tenant.to_owned()).or_default();
        if *n >= limit {
            return None;
        }
        *n += 1;
        Some(SocketSlot {
            counts: self.clone(),
            tenant: tenant.to_owned(),
        })
    }

    /// How many sockets `tenant` has open here.
    pub fn open(&self, tenant: &str) -> u64 {
        self.0.lock().get(tenant).copied().unwrap_or(0)
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.0.lock();
        if let Some(n) = counts.get_mut(&self.tenant) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.tenant);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_per_tenant_and_come_back_on_drop() {
        let counts = SocketCounts::default();
        let a1 = counts.try_open("a", 2);
        let a2 = counts.try_open("a", 2);
        assert!(a1.is_some() && a2.is_some());
        assert!(counts.try_open("a", 2).is_none());
        assert!(
            counts.try_open("b", 2).is_some(),
            "another tenant is not affected"
        );
        drop(a1);
        assert_eq!(counts.open("a"), 1);
        assert!(counts.try_open("a", 2).is_some());
    }
}
