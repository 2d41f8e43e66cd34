//! Stream metrics: counters the render loop bumps, and the once-a-second report built from
//! them, the encoder probe, the outputs and the process's own CPU and memory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Counters written by the render thread, read by the supervisor. Relaxed atomics: each
/// value is independent and only needs to be roughly current.
#[derive(Debug, Default)]
pub struct FrameStats {
    /// Frames pushed to the encoder.
    pub frames: AtomicU64,
    /// Frames skipped because rendering fell behind the clock.
    pub dropped: AtomicU64,
    /// Frames actually composed (unchanged frames are reused, not composed).
    pub composed: AtomicU64,
    /// Total composing time, nanoseconds.
    pub compose_ns: AtomicU64,
}

impl FrameStats {
    /// Records one composed frame that took `ns`.
    pub fn composed(&self, ns: u64) {
        self.composed.fetch_add(1, Ordering::Relaxed);
        self.compose_ns.fetch_add(ns, Ordering::Relaxed);
    }
}

/// Per-second rates, from successive snapshots of the counters.
#[derive(Debug)]
pub struct RateMeter {
    at: Instant,
    frames: u64,
    composed: u64,
    compose_ns: u64,
    bytes: u64,
    cpu_ticks: Option<u64>,
}

/// One second's worth of derived figures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    pub fps: f64,
    /// Mean composite time per composed frame, ms (0 when nothing was composed).
    pub average_render_ms: f64,
    pub bitrate_kbps: f64,
    /// Percent of one core used by the whole process.
    pub cpu_percent: f64,
}

impl RateMeter {
    /// Starts measuring from now.
    pub fn new(stats: &FrameStats, bytes: u64) -> Self {
        RateMeter {
            at: Instant::now(),
            frames: stats.frames.load(Ordering::Relaxed),
            composed: stats.composed.load(Ordering::Relaxed),
            compose_ns: stats.compose_ns.load(Ordering::Relaxed),
            bytes,
            cpu_ticks: process_cpu_ticks(),
        }
    }

    /// Rates since the last call (or since `new`).
    pub fn sample(&mut self, stats: &FrameStats, bytes: u64) -> Rates {
        let next = RateMeter::new(stats, bytes);
        let secs = next.at.duration_since(self.at).as_secs_f64().max(1e-3);
        let composed = next.composed.saturating_sub(self.composed);
        let rates = Rates {
            fps: next.frames.saturating_sub(self.frames) as f64 / secs,
            average_render_ms: if composed == 0 {
                0.0
            } else {
                next.compose_ns.saturating_sub(self.compose_ns) as f64 / composed as f64 / 1e6
            },
            bitrate_kbps: next.bytes.saturating_sub(self.bytes) as f64 * 8.0 / 1000.0 / secs,
            cpu_percent: match (self.cpu_ticks, next.cpu_ticks) {
                (Some(a), Some(b)) => {
                    b.saturating_sub(a) as f64 / CLOCK_TICKS_PER_SEC / secs * 100.0
                }
                _ => 0.0,
            },
        };
        *self = next;
        rates
    }
}

/// `USER_HZ`: the unit of /proc CPU times. It is 100 on every Linux ABI we run on; reading
/// it properly needs `sysconf`, which the crate's no-unsafe rule keeps out.
pub const CLOCK_TICKS_PER_SEC: f64 = 100.0;

/// User plus system CPU time of this process, in clock ticks (`/proc/self/stat`).
pub fn process_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_cpu_ticks(&stat)
}

fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) may contain spaces; fields after its closing ')' are fixed.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Resident memory of this process in bytes (`/proc/self/statm`, pages of 4 KiB).
pub fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cpu_ticks_past_odd_command_names() {
        let stat = "42 (a b) c) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        assert_eq!(parse_cpu_ticks(stat), Some(300));
        assert!(process_cpu_ticks().is_some());
        assert!(resident_bytes() > 0);
    }
}
