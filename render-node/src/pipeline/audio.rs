//! The output's audio: a silent live source mixed with whatever video layers play, each
//! through its layer's fader, then the master volume and the programme meter.
//!
//! Silence is always present so the FLV stream has an audio track from its first second
//! (players and platforms expect one); video layers join the mixer through an `appsrc` each.
//!
//! Faders and meters are done here, on the samples, not by `volume`/`level` elements: every
//! layer's audio already passes through [`AudioInput::push`] (to be re-stamped), so gain, pan
//! and metering cost one pass over a buffer we hold anyway, a fader change is ramped sample
//! by sample over [`RAMP_FRAMES`] (no zipper or click, whatever the buffer size), and the
//! meters are read by the node when it publishes them instead of arriving as bus messages
//! per element. The programme gets the same treatment in a probe after the mixer. A
//! layer's fader ([`Channel`]) outlives its inputs, so an ingest feed that reconnects (a new
//! input) keeps its volume and meter.

use std::collections::HashMap;
use std::sync::Arc;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use parking_lot::Mutex;
use shared::audio::{AudioLevels, LayerAudio, LayerLevel, Level};
use shared::layer::{Layer, LayerSource};
use uuid::Uuid;

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

/// Frames (at 48 kHz) a fader change takes to reach its new gain: 30 ms, long enough to
/// be click-free, short enough to feel instant.
pub const RAMP_FRAMES: u32 = 1_440;

/// A fader's gains moving to their target, one step per frame.
#[derive(Debug, Clone, Copy)]
pub struct Ramp {
    current: (f32, f32),
    from: (f32, f32),
    target: (f32, f32),
    /// Frames into the ramp towards `target`.
    done: u32,
}

impl Ramp {
    /// A ramp at rest on `gains`.
    pub fn at(gains: (f32, f32)) -> Self {
        Ramp {
            current: gains,
            from: gains,
            target: gains,
            done: RAMP_FRAMES,
        }
    }

    /// Applies the gains, moving towards `target`, to interleaved stereo S16LE `bytes`, and
    /// adds what comes out to `meter`.
    pub fn run(&mut self, target: (f32, f32), bytes: &mut [u8], meter: &mut Meter) {
        if target != self.target {
            self.from = self.current;
            self.target = target;
            self.done = 0;
        }
        let unity = self.done >= RAMP_FRAMES && self.target == (1.0, 1.0);
        for frame in bytes.chunks_exact_mut(4) {
            if self.done < RAMP_FRAMES {
                self.done += 1;
                let t = self.done as f32 / RAMP_FRAMES as f32;
                self.current = (
                    self.from.0 + (self.target.0 - self.from.0) * t,
                    self.from.1 + (self.target.1 - self.from.1) * t,
                );
            }
            let (gl, gr) = self.current;
            for (half, gain) in frame.chunks_exact_mut(2).zip([gl, gr]) {
                let mut v = i16::from_le_bytes([half[0], half[1]]);
                if !unity {
                    v = (f32::from(v) * gain)
                        .round()
                        .clamp(f32::from(i16::MIN), f32::from(i16::MAX))
                        as i16;
                    half.copy_from_slice(&v.to_le_bytes());
                }
                meter.add(v);
            }
        }
    }
}

/// Peak and sum of squares of the samples since the meter was last read.
#[derive(Debug, Default, Clone, Copy)]
pub struct Meter {
    peak: f64,
    sum_sq: f64,
    samples: u64,
}

impl Meter {
    fn add(&mut self, v: i16) {
        let x = f64::from(v) / 32_768.0;
        self.peak = self.peak.max(x.abs());
        self.sum_sq += x * x;
        self.samples += 1;
    }

    fn merge(&mut self, other: &Meter) {
        self.peak = self.peak.max(other.peak);
        self.sum_sq += other.sum_sq;
        self.samples += other.samples;
    }

    /// The level since the last read, and a fresh start; `None` if no sample came.
    fn take(&mut self) -> Option<Level> {
        let m = std::mem::take(self);
        (m.samples > 0).then(|| Level::from_linear(m.peak, (m.sum_sq / m.samples as f64).sqrt()))
    }
}

/// What a fader is set to.
#[derive(Debug, Clone, Copy)]
struct Settings {
    gains: (f32, f32),
    delay_ns: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            gains: (1.0, 1.0),
            delay_ns: 0,
        }
    }
}

/// One fader and its meter: a layer's, or the programme's.
#[derive(Debug, Default)]
pub struct Channel {
    settings: Mutex<Settings>,
    meter: Mutex<Meter>,
}

impl Channel {
    fn set(&self, audio: &LayerAudio) {
        *self.settings.lock() = Settings {
            gains: audio.channel_gains(),
            delay_ns: i64::from(audio.delay_ms) * 1_000_000,
        };
    }

    fn set_gain(&self, gain: f32) {
        self.settings.lock().gains = (gain, gain);
    }

    /// Runs `bytes` through the fader (with `ramp`, the caller's) and meters them.
    fn process(&self, ramp: &mut Ramp, bytes: &mut [u8]) {
        let target = self.settings.lock().gains;
        let mut meter = Meter::default();
        ramp.run(target, bytes, &mut meter);
        self.meter.lock().merge(&meter);
    }

    fn ramp(&self) -> Ramp {
        Ramp::at(self.settings.lock().gains)
    }
}

/// A stream's faders: one per layer that may carry sound, and the master.
#[derive(Debug, Default)]
pub struct Mix {
    layers: Mutex<HashMap<Uuid, Arc<Channel>>>,
    programme: Channel,
}

impl Mix {
    /// The fader of layer `id` (created at unity if new).
    fn channel(&self, id: Uuid) -> Arc<Channel> {
        self.layers.lock().entry(id).or_default().clone()
    }

    /// Sets the faders of `layers` (those of other layers are forgotten) and the master
    /// volume. Inputs pick the new values up at their next buffer and ramp to them.
    pub fn apply<'a>(&self, layers: impl Iterator<Item = &'a Layer>, master: f32) {
        let mut map = self.layers.lock();
        let mut keep = Vec::new();
        for l in layers {
            if matches!(l.source, LayerSource::Video(_) | LayerSource::Ingest(_)) {
                map.entry(l.id).or_default().set(&l.audio);
                keep.push(l.id);
            }
        }
        map.retain(|id, _| keep.contains(id));
        self.programme.set_gain(master);
    }

    /// The levels since the last call: the programme's (silence if nothing came), and each
    /// layer that fed sound.
    pub fn levels(&self) -> AudioLevels {
        let layers = self
            .layers
            .lock()
            .iter()
            .filter_map(|(id, ch)| {
                ch.meter.lock().take().map(|level| LayerLevel {
                    layer_id: *id,
                    level,
                })
            })
            .collect();
        AudioLevels {
            programme: self
                .programme
                .meter
                .lock()
                .take()
                .unwrap_or(Level::silence()),
            layers,
        }
    }

    /// Applies the master volume to the mixer's output and meters it, on `pad` (raw audio
    /// in [`audio_caps`]).
    pub(crate) fn attach_programme(self: &Arc<Self>, pad: &gst::Pad) {
        let mix = Arc::downgrade(self);
        // Probes are `Fn` and buffers on one pad come one at a time: the lock never waits.
        let ramp = Mutex::new(self.programme.ramp());
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            let Some(mix) = mix.upgrade() else {
                return gst::PadProbeReturn::Remove;
            };
            if let Some(gst::PadProbeData::Buffer(buffer)) = &mut info.data
                && let Ok(mut map) = buffer.make_mut().map_writable()
            {
                mix.programme.process(&mut ramp.lock(), map.as_mut_slice());
            }
            gst::PadProbeReturn::Ok
        });
    }
}

/// How video layers add their audio to a running output.
#[derive(Debug, Clone)]
pub struct AudioPort {
    pipeline: gst::glib::WeakRef<gst::Pipeline>,
    mixer: gst::Element,
    mix: Arc<Mix>,
    /// The layer this port's inputs belong to; `None`: an input at unity, unmetered.
    channel: Option<Arc<Channel>>,
}

impl AudioPort {
    pub(crate) fn new(pipeline: &gst::Pipeline, mixer: gst::Element, mix: Arc<Mix>) -> Self {
        AudioPort {
            pipeline: pipeline.downgrade(),
            mixer,
            mix,
            channel: None,
        }
    }

    /// The stream's faders.
    pub fn mix(&self) -> &Arc<Mix> {
        &self.mix
    }

    /// This port, for layer `id`'s inputs: they go through its fader and meter.
    pub fn for_layer(&self, id: Uuid) -> AudioPort {
        AudioPort {
            channel: Some(self.mix.channel(id)),
            ..self.clone()
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
        let channel = self.channel.clone().unwrap_or_default();
        Ok(AudioInput {
            pipeline: pipeline.downgrade(),
            mixer: self.mixer.clone(),
            src,
            queue,
            mix_pad,
            timeline: parking_lot::Mutex::default(),
            ramp: Mutex::new(channel.ramp()),
            channel,
        })
    }
}

/// Audio is placed this far after its arrival, so a buffer delayed by that much jitter is
/// still continuous with the one before it.
const JITTER_MARGIN_NS: u64 = 30_000_000;
/// A source whose timestamps run this far ahead of real time (a loop, a seek, a reconnect,
/// clock drift) is re-anchored at its next buffer.
const MAX_DRIFT_NS: u64 = 200_000_000;
/// How far behind its arrival a buffer may be placed before the source is re-anchored. The
/// mixer takes buffers up to its latency (the inputs' 100 ms) late and drops older ones, so
/// a source whose clock runs slow (or whose decoding falls behind) would otherwise fade into
/// dropped buffers — seconds of silence — long before drifting [`MAX_DRIFT_NS`] away.
const MAX_LATE_NS: u64 = 50_000_000;

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
            && out + MAX_LATE_NS >= now
            && out <= now + JITTER_MARGIN_NS + MAX_DRIFT_NS
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
    channel: Arc<Channel>,
    ramp: Mutex<Ramp>,
}

/// Where a buffer placed at `pts` plays with a delay of `delay_ns`: later by that much, or
/// earlier, but never before `now` (the mixer drops what comes after its time).
fn delayed(pts: u64, delay_ns: i64, now: u64) -> u64 {
    if delay_ns >= 0 {
        pts + delay_ns as u64
    } else {
        pts.saturating_sub(delay_ns.unsigned_abs()).max(now)
    }
}

impl AudioInput {
    /// Pushes decoded audio, re-stamped into the output's running time (the source has its
    /// own timeline, which loops, restarts and drifts; the output's is the one that counts)
    /// and shifted by the layer's delay, through the layer's fader and meter.
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
        let delay_ns = self.channel.settings.lock().delay_ns;
        let pts = delayed(pts, delay_ns, now.nseconds());
        {
            let b = buf.make_mut();
            b.set_pts(gst::ClockTime::from_nseconds(pts));
            b.set_dts(gst::ClockTime::NONE);
            if let Ok(mut map) = b.map_writable() {
                self.channel
                    .process(&mut self.ramp.lock(), map.as_mut_slice());
            }
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

    fn stereo(frames: usize, v: i16) -> Vec<u8> {
        std::iter::repeat_n(v.to_le_bytes(), frames * 2)
            .flatten()
            .collect()
    }

    fn samples(bytes: &[u8]) -> Vec<i16> {
        bytes
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect()
    }

    #[test]
    fn a_fader_change_is_ramped_not_stepped() {
        let mut ramp = Ramp::at((1.0, 1.0));
        let mut meter = Meter::default();
        let mut buf = stereo(2 * RAMP_FRAMES as usize, 10_000);
        ramp.run((0.5, 0.5), &mut buf, &mut meter);
        let s = samples(&buf);
        // No step between neighbours bigger than the ramp's slope allows.
        let max_step = s.windows(2).map(|w| (w[0] - w[1]).abs()).max().unwrap();
        assert!(max_step <= 5, "a step of {max_step}");
        assert_eq!(s[2 * RAMP_FRAMES as usize - 1], 5_000);
        assert_eq!(*s.last().unwrap(), 5_000, "at the target after the ramp");
        // Metered after the fader.
        let level = meter.take().unwrap();
        assert!((level.peak_db - 20.0 * (10_000f32 / 32_768.0).log10()).abs() < 0.01);
        assert!(meter.take().is_none(), "reading resets the meter");
    }

    #[test]
    fn unity_leaves_samples_alone_and_pan_turns_one_side_down() {
        let mut ramp = Ramp::at((1.0, 1.0));
        let mut buf = stereo(10, -1234);
        ramp.run((1.0, 1.0), &mut buf, &mut Meter::default());
        assert!(samples(&buf).iter().all(|&v| v == -1234));
        let mut ramp = Ramp::at((1.0, 0.0));
        let mut buf = stereo(10, 1000);
        ramp.run((1.0, 0.0), &mut buf, &mut Meter::default());
        assert_eq!(&samples(&buf)[..4], &[1000, 0, 1000, 0]);
        // +6 dB clips instead of wrapping.
        let mut ramp = Ramp::at((2.0, 2.0));
        let mut buf = stereo(2, 30_000);
        ramp.run((2.0, 2.0), &mut buf, &mut Meter::default());
        assert_eq!(samples(&buf)[0], i16::MAX);
    }

    #[test]
    fn a_delay_shifts_later_and_earlier_only_down_to_now() {
        assert_eq!(delayed(100 * MS, 50 * MS as i64, 90 * MS), 150 * MS);
        assert_eq!(delayed(100 * MS, -5 * MS as i64, 90 * MS), 95 * MS);
        assert_eq!(delayed(100 * MS, -500 * MS as i64, 90 * MS), 90 * MS);
    }

    #[test]
    fn a_source_falling_behind_is_re_anchored_before_the_mixer_drops_it() {
        let mut t = Timeline::default();
        let first = t.place(Some(0), 0);
        // The source's clock runs 1 % slow: its buffers fall behind their arrival.
        let mut last = first;
        for i in 1..=100u64 {
            let now = i * 101 * MS;
            last = t.place(Some(i * 100 * MS), now);
            assert!(last + MAX_LATE_NS >= now, "buffer {i} placed too late");
        }
        assert!(last > first);
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
