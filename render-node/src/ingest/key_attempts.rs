//! What a publish with a stream key may cost before the key is known to be good. Every
//! check is a control-plane call and a Postgres query, so guesses are bounded twice: each
//! source address gets a small bucket of checks that refills slowly, and a key just refused
//! is refused again from memory for a while.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sha2::{Digest, Sha256};

/// Checks an address may make at once.
const BURST: f64 = 5.0;
/// Checks an address earns back per second.
const REFILL_PER_SECOND: f64 = 0.5;
/// How long a refused key is refused without asking. Short: a tenant who creates a key
/// while its encoder is already retrying with it waits at most this long.
const REMEMBER_REFUSED: Duration = Duration::from_secs(10);
/// Entries kept before stale ones are swept (bounds memory under a spray of addresses).
const SWEEP_ABOVE: usize = 10_000;

/// What to do with a publish's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Ask the control plane.
    Ask,
    /// Refused a moment ago: refuse again without asking.
    KnownBad,
    /// This address has used its checks up: refuse without asking.
    TooMany,
}

/// The node's record of key checks.
#[derive(Debug, Default)]
pub struct KeyAttempts {
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
    refused: Mutex<HashMap<[u8; 32], Instant>>,
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

impl KeyAttempts {
    /// Whether `peer` may have `key` checked now (taking one check from its bucket).
    pub fn before_check(&self, peer: IpAddr, key: &str) -> Verdict {
        self.before_check_at(peer, key, Instant::now())
    }

    fn before_check_at(&self, peer: IpAddr, key: &str, now: Instant) -> Verdict {
        {
            let mut refused = self.refused.lock();
            match refused.get(&digest(key)) {
                Some(until) if *until > now => return Verdict::KnownBad,
                Some(_) => {
                    refused.remove(&digest(key));
                }
                None => {}
            }
        }
        let mut buckets = self.buckets.lock();
        if buckets.len() > SWEEP_ABOVE {
            buckets.retain(|_, (tokens, at)| refilled(*tokens, *at, now) < BURST);
        }
        let (tokens, at) = buckets.entry(peer).or_insert((BURST, now));
        let available = refilled(*tokens, *at, now);
        if available < 1.0 {
            *tokens = available;
            *at = now;
            return Verdict::TooMany;
        }
        *tokens = available - 1.0;
        *at = now;
        Verdict::Ask
    }

    /// The control plane refused `key`: remember it for a while.
    pub fn refused(&self, key: &str) {
        self.refused_at(key, Instant::now());
    }

    fn refused_at(&self, key: &str, now: Instant) {
        let mut refused = self.refused.lock();
        if refused.len() > SWEEP_ABOVE {
            refused.retain(|_, until| *until > now);
        }
        refused.insert(digest(key), now + REMEMBER_REFUSED);
    }
}

fn refilled(tokens: f64, at: Instant, now: Instant) -> f64 {
    (tokens + now.saturating_duration_since(at).as_secs_f64() * REFILL_PER_SECOND).min(BURST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_a_burst_of_checks_then_one_every_two_seconds() {
        let a = KeyAttempts::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..5 {
            assert_eq!(a.before_check_at(ip, &format!("k{i}"), t0), Verdict::Ask);
        }
        assert_eq!(a.before_check_at(ip, "k5", t0), Verdict::TooMany);
        assert_eq!(a.before_check_at(other, "k5", t0), Verdict::Ask);
        let later = t0 + Duration::from_secs(2);
        assert_eq!(a.before_check_at(ip, "k6", later), Verdict::Ask);
        assert_eq!(a.before_check_at(ip, "k7", later), Verdict::TooMany);
    }

    #[test]
    fn a_refused_key_is_refused_from_memory_for_a_while() {
        let a = KeyAttempts::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        a.refused_at("sk_bad", t0);
        assert_eq!(a.before_check_at(ip, "sk_bad", t0), Verdict::KnownBad);
        assert_eq!(a.before_check_at(ip, "sk_good", t0), Verdict::Ask);
        let later = t0 + REMEMBER_REFUSED + Duration::from_millis(1);
        assert_eq!(a.before_check_at(ip, "sk_bad", later), Verdict::Ask);
    }
}
