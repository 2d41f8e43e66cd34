//! The render thread: one composed frame per output frame, pushed into the pipeline.
//!
//! Frames are produced by our own loop, timestamped `n / fps` in the pipeline's running time.
//! Live, the loop waits on the pipeline clock for each frame's time and skips (counts as
//! dropped) frames it is more than one frame late for; in throughput mode it runs as fast as
//! the encoder takes frames. Changes arrive between two frames over a channel, so a change
//! is in the very next frame after it is handed over.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender};
use std::time::Instant;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use parking_lot::Mutex;
use uuid::Uuid;

use super::PERF_TARGET;
use super::stats::FrameStats;
use crate::compose::layer::LayerContent;
use crate::compose::{Compositor, Plan};

/// What the render thread can be told between frames.
pub enum RenderCommand {
    /// Take this plan from the next frame on; answers with that frame's number.
    Apply(Plan, SyncSender<u64>),
    /// Hold the last frame (true) or go on rendering (false).
    Pause(bool),
    /// End the stream after the current frame.
    Stop,
}

/// Everything the render thread owns.
pub struct RenderLoop {
    pub stream_id: Uuid,
    pub compositor: Compositor,
    pub appsrc: gst_app::AppSrc,
    pub pipeline: gst::Pipeline,
    pub fps: u32,
    pub live: bool,
    /// Stop by itself after this many frames.
    pub max_frames: Option<u64>,
    pub commands: Receiver<RenderCommand>,
    pub stats: Arc<FrameStats>,
    /// Where content taken off the air goes to be torn down away from this thread.
    pub disposal: std::sync::mpsc::Sender<LayerContent>,
    /// The newest composed frame, for snapshots (a reference, not a copy).
    pub last_frame: Arc<Mutex<Option<gst::Buffer>>>,
    /// Called once the loop has ended and sent EOS (the supervisor then waits for it a
    /// bounded time only).
    pub on_end: Box<dyn FnOnce() + Send>,
}

/// Why the loop ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoopEnd {
    /// Asked to stop, or reached `max_frames`: EOS was sent.
    Finished,
    /// The pipeline refused frames (it failed or was shut down).
    Refused(String),
}

impl RenderLoop {
    fn frame_time(&self, n: u64) -> gst::ClockTime {
        gst::ClockTime::from_nseconds(n.saturating_mul(1_000_000_000) / u64::from(self.fps))
    }

    /// Runs until stopped; always ends the stream with EOS on the frame source.
    pub fn run(mut self) -> LoopEnd {
        let end = self.frames();
        let _ = self.appsrc.end_of_stream();
        // The silent audio source (and any audio inputs) must end too, or the muxer waits.
        let _ = self.pipeline.send_event(gst::event::Eos::new());
        (self.on_end)();
        end
    }

    fn frames(&mut self) -> LoopEnd {
        let frame_len = self.compositor.last().byte_len();
        let mut paused = false;
        let mut last: Option<gst::Buffer> = None;
        let mut n: u64 = 0;
        let clock = self.pipeline.clock();
        let base = self.pipeline.base_time();
        loop {
            if self.max_frames.is_some_and(|m| n >= m) {
                return LoopEnd::Finished;
            }
            let pts = self.frame_time(n);
            if self.live
                && let (Some(clock), Some(base)) = (&clock, base)
            {
                let now = clock.time().saturating_sub(base);
                let late = now.saturating_sub(pts).nseconds();
                let period = self.frame_time(1).nseconds().max(1);
                if late > period {
                    // More than a frame behind: skip to the frame due now.
                    let skip = late / period;
                    self.stats.dropped.fetch_add(skip, Ordering::Relaxed);
                    n += skip;
                    continue;
                }
                if now < pts {
                    let _ = clock.new_single_shot_id(base + pts).wait();
                }
            }
            // Commands are taken after the wait, right before composing: a change that came
            // in while waiting is in this frame, not the next one.
            loop {
                match self.commands.try_recv() {
                    Ok(RenderCommand::Apply(plan, ack)) => {
                        self.compositor.apply(plan, n);
                        let _ = ack.try_send(n);
                    }
                    Ok(RenderCommand::Pause(p)) => paused = p,
                    Ok(RenderCommand::Stop) | Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                        return LoopEnd::Finished;
                    }
                    Err(std::sync::mpsc::TryRecvError::Empty) => break,
                }
            }
            for c in self.compositor.take_retired() {
                let _ = self.disposal.send(c);
            }
            let reuse = paused || !self.compositor.needs_redraw(n);
            let mut compose_ns = 0;
            let (mut buffer, fresh) = match (&last, reuse) {
                // Same pixels as the last frame: share its memory, only the timestamp differs.
                (Some(prev), true) => (prev.copy(), false),
                _ => {
                    let t0 = Instant::now();
                    let canvas = self.compositor.render(n);
                    let Ok(mut buf) = gst::Buffer::with_size(frame_len) else {
                        return LoopEnd::Refused("out of memory for a frame".into());
                    };
                    if let Some(b) = buf.get_mut()
                        && let Ok(mut map) = b.map_writable()
                    {
                        canvas.write_i420(&mut map);
                    }
                    compose_ns = t0.elapsed().as_nanos() as u64;
                    self.stats.composed(compose_ns);
                    (buf, true)
                }
            };
            if let Some(b) = buffer.get_mut() {
                b.set_pts(pts);
                b.set_duration(self.frame_time(n + 1) - pts);
            }
            if fresh {
                last = Some(buffer.clone());
                *self.last_frame.lock() = Some(buffer.clone());
            }
            let pushed = Instant::now();
            if let Err(e) = self.appsrc.push_buffer(buffer) {
                tracing::info!(stream_id = %self.stream_id, error = ?e, "frame source refused a frame");
                return LoopEnd::Refused(format!("{e:?}"));
            }
            // STREAM_PERF_METRICS=true: where each frame's time goes (the push blocks while
            // the encoder is behind).
            tracing::debug!(
                target: PERF_TARGET,
                stream_id = %self.stream_id,
                frame = n,
                composed = fresh,
                compose_us = compose_ns / 1_000,
                push_us = pushed.elapsed().as_micros() as u64,
                dropped = self.stats.dropped.load(Ordering::Relaxed),
                "frame"
            );
            self.stats.frames.fetch_add(1, Ordering::Relaxed);
            n += 1;
        }
    }
}
