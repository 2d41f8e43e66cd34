//! A running stream: its current pipeline ([`Running`], replaced when the resolution or
//! frame rate changes) behind the [`StreamHandle`] its owner drives it with.

use std::sync::Arc;
use std::sync::mpsc::{self, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use gstreamer as gst;
use gstreamer_app as gst_app;
use parking_lot::Mutex;
use shared::audio::AudioLevels;
use shared::spec::{DesiredState, StreamSpec};
use shared::status::{LiveReport, StreamState};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::events::{EventSink, NodeEvent};
use super::plan::Planner;
use super::render_loop::{LoopEnd, RenderCommand};
use super::stats::FrameStats;
use super::supervisor::SupervisorCommand;
use super::{Applied, Engine, StreamOptions};
use crate::error::{RenderError, Result};
use crate::pipeline::audio::Mix;
use crate::pipeline::encoder;
use crate::system::unix_ms;

/// The render thread and the supervisor thread (which returns the failure, if any).
pub(crate) type StreamThreads = (JoinHandle<LoopEnd>, JoinHandle<Option<String>>);

/// One pipeline of a stream (a new resolution or frame rate replaces it).
pub(crate) struct Running {
    pub(crate) render_tx: Sender<RenderCommand>,
    pub(crate) sup_tx: Sender<SupervisorCommand>,
    pub(crate) planner: Mutex<Planner>,
    pub(crate) spec: StreamSpec,
    pub(crate) report: Arc<Mutex<LiveReport>>,
    pub(crate) threads: Option<StreamThreads>,
    pub(crate) tap: Option<gst_app::AppSink>,
    pub(crate) stats: Arc<FrameStats>,
    pub(crate) encoder: Option<gst::Element>,
    pub(crate) last_frame: Arc<Mutex<Option<gst::Buffer>>>,
    /// The faders and meters of the pipeline's audio (none when it only composites).
    pub(crate) mix: Option<Arc<Mix>>,
}

impl Running {
    pub(crate) fn set_paused(&self, paused: bool) {
        let _ = self.render_tx.send(RenderCommand::Pause(paused));
        let mut r = self.report.lock();
        r.state = match (r.state, paused) {
            (StreamState::Live | StreamState::Starting, true) => StreamState::Paused,
            (StreamState::Paused, false) => StreamState::Live,
            (s, _) => s,
        };
    }

    fn report(&self) -> LiveReport {
        let mut r = self.report.lock().clone();
        r.reported_at = unix_ms();
        r
    }

    /// Asks the render loop to end (EOS) and waits for both threads. `replacing` says a new
    /// pipeline takes over, so subscribers are not told the stream ended.
    fn stop(&mut self, replacing: bool) -> Result<LiveReport> {
        // The supervisor hears first, so it knows what the coming EOS means.
        let _ = self.sup_tx.send(if replacing {
            SupervisorCommand::Replacing
        } else {
            SupervisorCommand::Stopping
        });
        let _ = self.render_tx.send(RenderCommand::Stop);
        self.join()
    }

    fn join(&mut self) -> Result<LiveReport> {
        let mut failure = None;
        if let Some((render, sup)) = self.threads.take() {
            failure = sup
                .join()
                .unwrap_or_else(|_| Some("supervisor thread panicked".into()));
            let _ = render.join();
        }
        let report = self.report();
        match failure {
            Some(message) => Err(RenderError::Pipeline {
                element: "stream".into(),
                message,
                debug: None,
            }),
            None => Ok(report),
        }
    }

    /// Applies a spec of the same resolution and frame rate to this pipeline.
    fn apply(&mut self, spec: &StreamSpec) -> Result<u64> {
        if spec.config.bitrate != self.spec.config.bitrate
            && let Some(enc) = &self.encoder
        {
            encoder::set_bitrate(enc, spec.config.bitrate.kbps);
        }
        if spec.config.outputs != self.spec.config.outputs {
            let _ = self
                .sup_tx
                .send(SupervisorCommand::SetOutputs(spec.config.outputs.clone()));
        }
        let (plan, over_budget) = {
            let mut planner = self.planner.lock();
            let plan = planner.plan(spec);
            (plan, planner.over_budget().map(str::to_owned))
        };
        if let Some(reason) = over_budget {
            drop(plan);
            let _ = self.sup_tx.send(SupervisorCommand::Fail(reason.clone()));
            return Err(RenderError::OverBudget(reason));
        }
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        self.render_tx
            .send(RenderCommand::Apply(plan, ack_tx))
            .map_err(|_| RenderError::Stopped)?;
        let frame = ack_rx
            .recv_timeout(Duration::from_secs(5))
            .map_err(|_| RenderError::Stopped)?;
        self.set_paused(spec.desired == DesiredState::Paused);
        self.spec = spec.clone();
        self.report.lock().version = spec.version;
        Ok(frame)
    }
}

/// A running stream. Methods are safe to call from several threads; `apply` calls are
/// serialised.
pub struct StreamHandle {
    engine: Engine,
    opts: StreamOptions,
    stream_id: Uuid,
    events: EventSink,
    /// The current pipeline's report, readable while `inner` is held by an `apply` that
    /// loads media or rebuilds the pipeline.
    report: Mutex<Arc<Mutex<LiveReport>>>,
    /// The current pipeline's meters, readable like `report`.
    mix: Mutex<Option<Arc<Mix>>>,
    inner: Mutex<Running>,
}

impl StreamHandle {
    pub(crate) fn new(
        engine: Engine,
        opts: StreamOptions,
        stream_id: Uuid,
        events: EventSink,
        running: Running,
    ) -> Self {
        StreamHandle {
            engine,
            opts,
            stream_id,
            events,
            report: Mutex::new(running.report.clone()),
            mix: Mutex::new(running.mix.clone()),
            inner: Mutex::new(running),
        }
    }

    /// The stream this handle drives.
    pub fn stream_id(&self) -> Uuid {
        self.stream_id
    }

    /// Applies a newer desired state: layers added, removed or changed (animated when
    /// `spec.change` says so), scene switched, paused or resumed, bitrate and RTMP
    /// destinations changed — all without restarting the pipeline or the RTMP connections.
    /// Returns the first output frame that shows the change.
    ///
    /// A new resolution or frame rate cannot be done in place: the pipeline is rebuilt
    /// (destinations reconnect) and [`Applied::Restarted`] is returned. Older or equal
    /// versions are ignored.
    pub fn apply(&self, spec: &StreamSpec) -> Result<Applied> {
        if spec.stream_id != self.stream_id {
            return Err(RenderError::InvalidSpec(
                "the spec is for another stream".into(),
            ));
        }
        spec.config
            .validate()
            .map_err(|e| RenderError::InvalidSpec(e.to_string()))?;
        let mut running = self.inner.lock();
        if spec.version <= running.spec.version {
            return Ok(Applied::Ignored);
        }
        let old = &running.spec.config;
        if spec.config.resolution != old.resolution || spec.config.target_fps != old.target_fps {
            let start_time = running.report().start_time.unwrap_or_else(unix_ms);
            tracing::info!(stream_id = %self.stream_id, version = spec.version, "new resolution or frame rate: rebuilding the pipeline");
            // The old pipeline's end is not the stream's end: its outcome is only logged.
            if let Err(e) = running.stop(true) {
                tracing::warn!(stream_id = %self.stream_id, error = %e, "old pipeline ended badly");
            }
            *running = self
                .engine
                .launch(spec, &self.opts, &self.events, start_time)?;
            *self.report.lock() = running.report.clone();
            *self.mix.lock() = running.mix.clone();
            self.engine.mount_preview(spec);
            return Ok(Applied::Restarted);
        }
        let frame = running.apply(spec)?;
        tracing::debug!(stream_id = %self.stream_id, version = spec.version, frame, "change applied");
        Ok(Applied::AtFrame(frame))
    }

    /// The latest report (refreshed once a second, and at once on going live), without
    /// waiting for an `apply` in progress.
    pub fn report(&self) -> LiveReport {
        let current = self.report.lock().clone();
        let mut r = current.lock().clone();
        r.reported_at = unix_ms();
        r.layer_sources = self.events.layer_sources();
        r
    }

    /// The audio levels since the last call (the programme's and each sounding layer's),
    /// without waiting for an `apply` in progress; `None` when the pipeline has no audio.
    pub fn audio_levels(&self) -> Option<AudioLevels> {
        self.mix.lock().as_ref().map(|m| m.levels())
    }

    /// Events from now on: layer and source errors, output states, the end.
    pub fn events(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }

    /// Frames pushed to the encoder so far by the current pipeline.
    pub fn frames(&self) -> u64 {
        self.inner
            .lock()
            .stats
            .frames
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The current pipeline's frame counters, to read while [`Self::wait`] holds the handle.
    pub fn frame_stats(&self) -> Arc<FrameStats> {
        self.inner.lock().stats.clone()
    }

    /// A JPEG of the frame on air (`quality` 1..=100); `None` before the first frame.
    pub fn snapshot_jpeg(&self, quality: u8) -> Result<Option<Vec<u8>>> {
        let (buffer, res) = {
            let running = self.inner.lock();
            let buffer = running.last_frame.lock().clone();
            (buffer, running.spec.config.resolution)
        };
        let Some(buffer) = buffer else {
            return Ok(None);
        };
        let map = buffer
            .map_readable()
            .map_err(RenderError::gst("read the last frame"))?;
        super::snapshot::i420_to_jpeg(&map, res.width as usize, res.height as usize, quality)
            .map(Some)
    }

    /// The appsink holding every composed frame, when started with `tap`.
    pub fn tap(&self) -> Option<gst_app::AppSink> {
        self.inner.lock().tap.clone()
    }

    /// Ends the stream cleanly: EOS through the muxer so files and RTMP close properly
    /// (bounded wait), then the pipeline goes to `Null`. Returns the final report; an error
    /// if the stream had failed.
    pub fn stop(&self) -> Result<LiveReport> {
        let stopped = self.inner.lock().stop(false);
        self.engine.unmount_preview(self.stream_id);
        stopped
    }

    /// Waits for the stream to end by itself (a frame limit, or a failure).
    pub fn wait(&self) -> Result<LiveReport> {
        // Holding the lock while waiting is fine: there is nothing to apply to a stream
        // that is ending by itself.
        self.inner.lock().join()
    }
}

impl Drop for StreamHandle {
    fn drop(&mut self) {
        let r = self.inner.get_mut();
        if r.threads.is_some() {
            let _ = r.stop(false);
        }
        self.engine.unmount_preview(self.stream_id);
    }
}
