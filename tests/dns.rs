//! A name server the test controls, for render nodes run with it as their only resolver
//! (`nodes::spawn_node_with_resolver`): names that resolve to private addresses, and names
//! whose answer changes from one query to the next (DNS rebinding).

use std::collections::HashMap;
use std::net::{Ipv4Addr, UdpSocket};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// How a name is answered: the `n`-th A query for it (from 0) gets `answer(n)`.
pub type Answer = Box<dyn Fn(u64) -> Ipv4Addr + Send + Sync>;

/// A UDP name server on a loopback address of its own, port 53 (resolv.conf names no port),
/// answering A queries for the names it was given (TTL 0, so nothing caches them), AAAA
/// queries for them with no address, and anything else with NXDOMAIN.
pub struct NameServer {
    pub addr: Ipv4Addr,
    queries: Arc<Mutex<HashMap<String, u64>>>,
}

impl NameServer {
    /// Starts serving `names`.
    pub fn start(names: Vec<(&str, Answer)>) -> NameServer {
        let names: HashMap<String, Answer> = names
            .into_iter()
            .map(|(n, a)| (n.to_ascii_lowercase(), a))
            .collect();
        let (socket, addr) = (0..64)
            .find_map(|_| {
                let seed = uuid::Uuid::new_v4().as_u128();
                let addr = Ipv4Addr::new(127, 53, (seed >> 8) as u8, (seed as u8).max(2));
                UdpSocket::bind((addr, 53)).ok().map(|s| (s, addr))
            })
            .expect("a loopback address with port 53 free (the tests run as root)");
        let queries = Arc::new(Mutex::new(HashMap::new()));
        let counts = queries.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while let Ok((n, from)) = socket.recv_from(&mut buf) {
                if let Some(reply) = answer(&buf[..n], &names, &counts) {
                    let _ = socket.send_to(&reply, from);
                }
            }
        });
        NameServer { addr, queries }
    }

    /// A queries seen for `name` so far.
    pub fn queries(&self, name: &str) -> u64 {
        self.queries
            .lock()
            .map(|q| q.get(&name.to_ascii_lowercase()).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// A resolv.conf naming only this server, for a node's mount namespace.
    pub fn resolv_conf(&self) -> PathBuf {
        let path = std::env::temp_dir().join(format!("sm-resolv-{}.conf", self.addr));
        std::fs::write(
            &path,
            format!("nameserver {}\noptions timeout:1 attempts:1\n", self.addr),
        )
        .expect("write resolv.conf");
        path
    }
}

/// The reply to one query, if it is one.
fn answer(
    q: &[u8],
    names: &HashMap<String, Answer>,
    counts: &Mutex<HashMap<String, u64>>,
) -> Option<Vec<u8>> {
    if q.len() < 12 {
        return None;
    }
    let mut labels = Vec::new();
    let mut i = 12;
    loop {
        let len = usize::from(*q.get(i)?);
        i += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(q.get(i..i + len)?).to_ascii_lowercase());
        i += len;
    }
    let qtype = u16::from_be_bytes([*q.get(i)?, *q.get(i + 1)?]);
    let question = q.get(12..i + 4)?;
    let name = labels.join(".");
    let ip = match (names.get(&name), qtype) {
        (Some(a), 1) => {
            let mut c = counts.lock().ok()?;
            let n = c.entry(name.clone()).or_insert(0);
            let ip = a(*n);
            *n += 1;
            Some(ip)
        }
        _ => None,
    };
    let rcode: u8 = if names.contains_key(&name) { 0 } else { 3 };
    let mut r = Vec::with_capacity(64);
    r.extend_from_slice(&q[0..2]);
    r.extend_from_slice(&[0x81, 0x80 | rcode]);
    r.extend_from_slice(&[0, 1, 0, u8::from(ip.is_some()), 0, 0, 0, 0]);
    r.extend_from_slice(question);
    if let Some(ip) = ip {
        r.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4]);
        r.extend_from_slice(&ip.octets());
    }
    Some(r)
}
