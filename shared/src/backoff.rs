//! Reconnect delays: exponential from 200 ms, capped at 2 s, with jitter so a fleet that
//! lost the same service does not come back in lockstep. The cap is low because retrying a
//! refused connection costs next to nothing, and every second of delay is a second a command
//! issued during the outage waits after the service is back.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const FIRST: Duration = Duration::from_millis(200);
const CAP: Duration = Duration::from_secs(2);

/// The delay before the next reconnect attempt.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

impl Backoff {
    /// Starts at the first, shortest delay.
    pub fn new() -> Self {
        Self { next: FIRST }
    }

    /// After a success: the next failure waits the shortest delay again.
    pub fn reset(&mut self) {
        self.next = FIRST;
    }

    /// The delay to wait now (between 75 % and 100 % of the current step), doubling the step.
    pub fn next_delay(&mut self) -> Duration {
        let step = self.next;
        self.next = (step * 2).min(CAP);
        step.mul_f64(0.75 + 0.25 * jitter())
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
        let mut b = Backoff::new();
        let delays: Vec<Duration> = (0..8).map(|_| b.next_delay()).collect();
        assert!(delays[0] >= FIRST.mul_f64(0.75) && delays[0] <= FIRST);
        assert!(delays.iter().all(|d| *d <= CAP));
        assert!(delays[7] >= CAP.mul_f64(0.75));
        b.reset();
        assert!(b.next_delay() <= FIRST);
    }
}
