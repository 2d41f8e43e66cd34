//! A stream's frame counters, which the render loop bumps, and the per-second rates the
//! supervisor derives from them for the report.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::system::process::CpuMeter;

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
    cpu: CpuMeter,
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
            cpu: CpuMeter::start(),
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
            cpu_percent: self.cpu.busy_until(&next.cpu).unwrap_or(0.0) * 100.0,
        };
        *self = next;
        rates
    }
}
