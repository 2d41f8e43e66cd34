//! Per-tenant gates on this replica, taken before a database connection is.
//!
//! The quota lock (`db::usage::lock_tenant`) serializes a tenant's creates across replicas,
//! but each create waiting on it holds a pool connection: a burst of one tenant's creates
//! would take the whole pool and starve other tenants' requests (503). Waiting here first,
//! without a connection, leaves at most one of a tenant's creates per replica holding one.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use tokio::sync::OwnedMutexGuard;

/// One async mutex per tenant, dropped when no one holds or waits for it.
#[derive(Clone, Default)]
pub struct TenantGates(Arc<Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>>);

impl TenantGates {
    /// Waits for `tenant`'s gate; it opens again when the guard is dropped.
    pub async fn enter(&self, tenant: &str) -> OwnedMutexGuard<()> {
        let gate = {
            let mut gates = self.0.lock();
            gates.retain(|_, g| g.strong_count() > 0);
            match gates.get(tenant).and_then(Weak::upgrade) {
                Some(g) => g,
                None => {
                    let g = Arc::new(tokio::sync::Mutex::new(()));
                    gates.insert(tenant.to_owned(), Arc::downgrade(&g));
                    g
                }
            }
        };
        gate.lock_owned().await
    }
}
