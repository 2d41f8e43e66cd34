//! Retry delays, for every loop that retries something: exponential, capped, with jitter so
//! a fleet that lost the same service does not come back in lockstep, and optionally a
//! budget of failures after which the caller gives up.
//!
//! [`Policy::RECONNECT`] (reconnecting to Postgres, Redis, RabbitMQ) starts at 200 ms and
//! caps at 2 s: retrying a refused connection costs next to nothing, and every second of
//! delay is a second a command issued during the outage waits after the service is back.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How delays grow and when to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The delay after the first failure.
    pub first: Duration,
    /// The ceiling delays double up to.
    pub max: Duration,
    /// Failures in a row after which to give up; `None` retries for ever.
    pub max_attempts: Option<u32>,
}

impl Policy {
    /// Reconnecting to a service: fast, and never giving up.
    pub const RECONNECT: Policy = Policy {
        first: Duration::from_millis(200),
        max: Duration::from_secs(2),
        max_attempts: None,
    };

    /// The step after `failures` failures in a row: `first`, doubled per further failure,
    /// at most `max`.
    pub fn step(&self, failures: u32) -> Duration {
        let factor = 1u32 << failures.saturating_sub(1).min(16);
        self.first.saturating_mul(factor).min(self.max)
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::RECONNECT
    }
}

/// The failures so far of one thing being retried, and the delay before the next attempt.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: Policy,
    failures: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

impl Backoff {
    /// Reconnect delays ([`Policy::RECONNECT`]).
    pub fn new() -> Self {
        Self::with_policy(Policy::RECONNECT)
    }

    /// Delays of `policy`.
    pub fn with_policy(policy: Policy) -> Self {
        Self {
            policy,
            failures: 0,
        }
    }

    /// After a success: the next failure waits the shortest delay again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Counts a failure and returns the delay to wait now: between 75 % and 100 % of the
    /// policy's step for this many failures in a row.
    pub fn next_delay(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        self.policy
            .step(self.failures)
            .mul_f64(0.75 + 0.25 * jitter())
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Whether the policy's budget of failures is spent.
    pub fn exhausted(&self) -> bool {
        self.policy
            .max_attempts
            .is_some_and(|max| self.failures >= max)
    }
}

/// A number in [0, 1) that differs between processes and calls; not random enough for
/// anything but spreading retries.
fn jitter() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mixed =
        (u64::from(nanos) ^ u64::from(std::process::id())).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_reset() {
        let p = Policy::RECONNECT;
        let mut b = Backoff::new();
        let delays: Vec<Duration> = (0..8).map(|_| b.next_delay()).collect();
        assert!(delays[0] >= p.first.mul_f64(0.75) && delays[0] <= p.first);
        assert!(delays.iter().all(|d| *d <= p.max));
        assert!(delays[7] >= p.max.mul_f64(0.75));
        assert!(!b.exhausted());
        b.reset();
        assert!(b.next_delay() <= p.first);
    }

    #[test]
    fn steps_double_from_the_first_and_a_budget_runs_out() {
        let p = Policy {
            first: Duration::from_secs(1),
            max: Duration::from_secs(30),
            max_attempts: Some(3),
        };
        assert_eq!(p.step(1), Duration::from_secs(1));
        assert_eq!(p.step(2), Duration::from_secs(2));
        assert_eq!(p.step(4), Duration::from_secs(8));
        assert_eq!(p.step(40), Duration::from_secs(30));
        let mut b = Backoff::with_policy(p);
        b.next_delay();
        b.next_delay();
        assert!(!b.exhausted());
        b.next_delay();
        assert!(b.exhausted() && b.failures() == 3);
    }
}
