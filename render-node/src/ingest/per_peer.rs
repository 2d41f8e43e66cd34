//! How many ingest connections (RTMP or SRT) one source address may hold at once. Without a key nothing
//! else bounds a client: a single host opening hundreds of idle connections took every slot
//! of the node's ingest and kept real encoders waiting for seconds.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;

/// Open connections by source address.
#[derive(Debug)]
pub struct PerPeer {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One admitted connection; dropping it gives its place back.
#[derive(Debug)]
pub struct PeerSlot {
    peers: Arc<PerPeer>,
    ip: IpAddr,
}

impl PerPeer {
    /// At most `max` connections per source address.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(PerPeer {
            max,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// How many connections `ip` holds now.
    pub fn holds(&self, ip: IpAddr) -> usize {
        self.open.lock().get(&ip).copied().unwrap_or(0)
    }

    /// A place for one more connection from `ip`, or `None` when it holds `max` already.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<PeerSlot> {
        let mut open = self.open.lock();
        let n = open.entry(ip).or_default();
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(PeerSlot {
            peers: self.clone(),
            ip,
        })
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut open = self.peers.open.lock();
        if let Some(n) = open.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_max_and_gets_places_back_on_close() {
        let peers = PerPeer::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = peers.admit(a).unwrap();
        let _second = peers.admit(a).unwrap();
        assert!(peers.admit(a).is_none());
        assert!(peers.admit(b).is_some(), "another address is not affected");
        drop(first);
        assert!(peers.admit(a).is_some());
        drop(_second);
    }
}
