//! Latency inside the pipeline: the time a frame takes from one pad to another, matched by
//! timestamp — across the video encoder (x264 keeps input timestamps on output), and from
//! the encoder's input to the muxer's output (the FLV tag of that frame leaving), which is
//! the node's share of "change → visible at the destination" after compositing.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use gstreamer as gst;
use gstreamer::prelude::*;
use parking_lot::Mutex;

/// Frames remembered while they are inside the encoder; more than any lookahead we use.
const MAX_IN_FLIGHT: usize = 256;

/// A buffer's timestamp as running time: x264enc shifts its output timestamps (by 1000 h,
/// with a matching segment), so raw timestamps on the two sides do not compare.
fn running_time(pad: &gst::Pad, info: &gst::PadProbeInfo) -> Option<gst::ClockTime> {
    let pts = info.buffer()?.pts()?;
    let ev = pad.sticky_event::<gst::event::Segment>(0)?;
    let seg = ev.segment().downcast_ref::<gst::format::Time>()?;
    seg.to_running_time(pts)
}

/// Latest measured latency between two pads.
#[derive(Debug, Clone)]
pub struct LatencyProbe {
    /// Smoothed latency in microseconds.
    micros: Arc<AtomicU64>,
}

impl LatencyProbe {
    /// Installs probes on `encoder`'s pads; `None` when it has no static pads.
    pub fn attach(encoder: &gst::Element) -> Option<Self> {
        let sink = encoder.static_pad("sink")?;
        let src = encoder.static_pad("src")?;
        Some(Self::across(&sink, &src, |_| true))
    }

    /// Measures from `entry` to `exit`, counting only the buffers `counts` accepts at the
    /// exit (e.g. the video tags among a muxer's output).
    pub fn across(
        entry: &gst::Pad,
        exit: &gst::Pad,
        counts: impl Fn(&gst::BufferRef) -> bool + Send + Sync + 'static,
    ) -> Self {
        let in_flight: Arc<Mutex<VecDeque<(gst::ClockTime, Instant)>>> = Arc::default();
        let micros = Arc::new(AtomicU64::new(0));
        let inf = in_flight.clone();
        entry.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            if let Some(pts) = running_time(pad, info) {
                let mut q = inf.lock();
                if q.len() >= MAX_IN_FLIGHT {
                    q.pop_front();
                }
                q.push_back((pts, Instant::now()));
            }
            gst::PadProbeReturn::Ok
        });
        let m = micros.clone();
        exit.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            let entered = match running_time(pad, info) {
                Some(pts) if info.buffer().is_some_and(|b| counts(b)) => {
                    let mut q = in_flight.lock();
                    q.iter().position(|(p, _)| *p == pts).map(|i| {
                        let at = q[i].1;
                        q.drain(..=i);
                        at
                    })
                }
                _ => None,
            };
            if let Some(at) = entered {
                let took = at.elapsed().as_micros() as u64;
                let prev = m.load(Ordering::Relaxed);
                // Exponential smoothing (1/8) so one slow frame does not dominate the report.
                let next = if prev == 0 {
                    took
                } else {
                    prev - prev / 8 + took / 8
                };
                m.store(next, Ordering::Relaxed);
            }
            gst::PadProbeReturn::Ok
        });
        LatencyProbe { micros }
    }

    /// Smoothed latency in milliseconds.
    pub fn millis(&self) -> f64 {
        self.micros.load(Ordering::Relaxed) as f64 / 1000.0
    }
}
