//! The output's audio: a silent live source mixed with whatever video layers play.
//!
//! Silence is always present so the FLV stream has an audio track from its first second
//! (players and platforms expect one); video layers join the mixer through an `appsrc` each.

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::error::{RenderError, Result, make};

/// The one raw audio format inside the node.
pub fn audio_caps() -> gst::Caps {
    gst::Caps::builder("audio/x-raw")
        .field("format", "S16LE")
        .field("layout", "interleaved")
        .field("rate", 48_000i32)
        .field("channels", 2i32)
        .build()
}

/// How video layers add their audio to a running output.
#[derive(Debug, Clone)]
pub struct AudioPort {
    pipeline: gst::glib::WeakRef<gst::Pipeline>,
    mixer: gst::Element,
}

impl AudioPort {
    pub(crate) fn new(pipeline: &gst::Pipeline, mixer: gst::Element) -> Self {
        AudioPort {
            pipeline: pipeline.downgrade(),
            mixer,
        }
    }

    /// A new mixer input, live in the output's running time.
    pub fn add_input(&self) -> Result<AudioInput> {
        let pipeline = self.pipeline.upgrade().ok_or(RenderError::Stopped)?;
        let src = gst_app::AppSrc::builder()
            .caps(&audio_caps())
            .format(gst::Format::Time)
            .is_live(true)
            // Decoded audio arrives in bursts of up to ~100 ms: tell the mixer to wait that long.
            .min_latency(100_000_000)
            .max_latency(500_000_000)
            .build();
        let queue = make("queue")?;
        let elems = [src.upcast_ref(), &queue];
        pipeline
            .add_many(elems)
            .map_err(RenderError::gst("add an audio input"))?;
        src.link(&queue)
            .map_err(RenderError::gst("link an audio input"))?;
        let mix_pad = self
            .mixer
            .request_pad_simple("sink_%u")
            .ok_or_else(|| RenderError::MissingElement("audiomixer sink pad".into()))?;
        let qsrc = queue
            .static_pad("src")
            .ok_or_else(|| RenderError::MissingElement("queue src pad".into()))?;
        qsrc.link(&mix_pad).map_err(|e| RenderError::Pipeline {
            element: "audiomixer".into(),
            message: format!("cannot link an audio input: {e:?}"),
            debug: None,
        })?;
        for e in elems {
            e.sync_state_with_parent()
                .map_err(RenderError::gst("start an audio input"))?;
        }
        Ok(AudioInput {
            pipeline: pipeline.downgrade(),
            mixer: self.mixer.clone(),
            src,
            queue,
            mix_pad,
            timeline: parking_lot::Mutex::default(),
        })
    }
}

/// Audio is placed this far after its arrival, so a buffer delayed by that much jitter is
/// still continuous with the one before it.
const JITTER_MARGIN_NS: u64 = 30_000_000;
/// A source whose timestamps wander this far from real time (a loop, a seek, a reconnect,
/// clock drift) is re-anchored at its next buffer.
const MAX_DRIFT_NS: u64 = 200_000_000;

/// Maps a source's audio timestamps onto the output's running time: anchored on arrival,
/// then following the source's own spacing, so bursty arrival (a network feed) still gives
/// continuous audio instead of gaps and overlaps at every burst.
#[derive(Debug, Default, Clone, Copy)]
pub struct Timeline {
    /// (source timestamp, output running time) of the anchor buffer, in nanoseconds.
    anchor: Option<(u64, u64)>,
}

impl Timeline {
    /// Where a buffer stamped `src` (if it has a stamp) goes, when it arrives at `now`.
    pub fn place(&mut self, src: Option<u64>, now: u64) -> u64 {
        if let (Some(s), Some((s0, o0))) = (src, self.anchor)
            && let Some(out) = (o0 + s).checked_sub(s0)
            && out.abs_diff(now + JITTER_MARGIN_NS) <= MAX_DRIFT_NS
        {
            return out;
        }
        let out = now + JITTER_MARGIN_NS;
        self.anchor = src.map(|s| (s, out));
        out
    }
}

/// One video layer's way into the mixer.
#[derive(Debug)]
pub struct AudioInput {
    pipeline: gst::glib::WeakRef<gst::Pipeline>,
    mixer: gst::Element,
    src: gst_app::AppSrc,
    queue: gst::Element,
    mix_pad: gst::Pad,
    timeline: parking_lot::Mutex<Timeline>,
}

impl AudioInput {
    /// Pushes decoded audio, re-stamped into the output's running time: the source has its
    /// own timeline (which loops, restarts and drifts); the output's is the one that counts.
    pub fn push(&self, mut buf: gst::Buffer) {
        let Some(now) = self
            .pipeline
            .upgrade()
            .and_then(|p| p.current_running_time())
        else {
            return;
        };
        let pts = self
            .timeline
            .lock()
            .place(buf.pts().map(gst::ClockTime::nseconds), now.nseconds());
        {
            let b = buf.make_mut();
            b.set_pts(gst::ClockTime::from_nseconds(pts));
            b.set_dts(gst::ClockTime::NONE);
        }
        let _ = self.src.push_buffer(buf);
    }

    /// Mutes or unmutes this input at the mixer (its buffers keep flowing, so it stays in
    /// step with the output and is heard again at once).
    pub fn set_muted(&self, muted: bool) {
        self.mix_pad.set_property("mute", muted);
    }

    /// Leaves the mixer and the pipeline.
    pub fn close(self) {
        let _ = self.src.end_of_stream();
        if let Some(p) = self.pipeline.upgrade() {
            let _ = self.src.set_state(gst::State::Null);
            let _ = self.queue.set_state(gst::State::Null);
            let _ = p.remove_many([self.src.upcast_ref(), &self.queue]);
        }
        self.mixer.release_request_pad(&self.mix_pad);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn bursty_arrival_keeps_the_sources_spacing() {
        let mut t = Timeline::default();
        let first = t.place(Some(5_000 * MS), 100 * MS);
        assert_eq!(first, 100 * MS + JITTER_MARGIN_NS);
        // Three 20 ms buffers arriving together 50 ms later still sit 20 ms apart.
        let got: Vec<u64> = (1..=3)
            .map(|i| t.place(Some((5_000 + 20 * i) * MS), 150 * MS))
            .collect();
        assert_eq!(got, [first + 20 * MS, first + 40 * MS, first + 60 * MS]);
    }

    #[test]
    fn a_jump_in_the_source_re_anchors_at_arrival() {
        let mut t = Timeline::default();
        t.place(Some(9_000 * MS), 0);
        // The source looped back to zero, or reconnected.
        assert_eq!(t.place(Some(0), 1_000 * MS), 1_000 * MS + JITTER_MARGIN_NS);
        assert_eq!(
            t.place(Some(20 * MS), 1_020 * MS),
            1_020 * MS + JITTER_MARGIN_NS
        );
        // Unstamped buffers go at arrival.
        assert_eq!(t.place(None, 2_000 * MS), 2_000 * MS + JITTER_MARGIN_NS);
    }
}
