//! The engine: starts streams from a [`StreamSpec`] and hands out a [`StreamHandle`] per
//! stream to change, observe and stop it.
//!
//! Each stream has its own pipeline and two threads (render loop, supervisor), so one
//! stream's failure never touches another's. Handle methods are blocking but short (apply
//! blocks while new media loads); async callers wrap them in `spawn_blocking`.

use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use shared::media_url::{MediaPolicy, UrlUse};
use shared::spec::{DesiredState, StreamSpec};
use shared::status::{LiveReport, StreamState};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::compose::Compositor;
use crate::error::{RenderError, Result};
use crate::events::{EventSink, NodeEvent};
use crate::metrics::FrameStats;
use crate::output::retry::RetryPolicy;
use crate::output::{OutputTarget, Outputs};
use crate::pipeline::{OutputPipeline, Stage, encoder};
use crate::plan::{LoadContext, Planner};
use crate::render_loop::{LoopEnd, RenderCommand, RenderLoop};
use crate::sources::image::ImageCache;
use crate::sources::ingest::{IngestFeeds, NoFeeds};
use crate::supervisor::{Supervisor, SupervisorCommand, unix_ms};

/// Node-wide settings.
#[derive(Clone)]
pub struct EngineConfig {
    /// Reported in every [`LiveReport`].
    pub node_id: String,
    /// URL rules for media and outputs; `None` trusts everything (standalone use).
    pub policy: Option<MediaPolicy>,
    /// The control plane's base URL, for image layers naming an uploaded asset.
    pub asset_base: Option<String>,
    /// Signs asset URLs for the control plane (`NODE_SECRET`).
    pub asset_key: Option<String>,
    pub retry: RetryPolicy,
    /// Live feeds for ingest layers.
    pub feeds: Arc<dyn IngestFeeds>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            node_id: "local".into(),
            policy: None,
            asset_base: None,
            asset_key: None,
            retry: RetryPolicy::default(),
            feeds: Arc::new(NoFeeds),
        }
    }
}

/// Per-stream options beyond the spec (the standalone command, tests, benchmarks).
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Real time on the pipeline clock (true), or as fast as possible (benchmarks, files).
    pub live: bool,
    /// End by itself after this many frames.
    pub max_frames: Option<u64>,
    /// Destinations besides the spec's RTMP outputs (files, null).
    pub extra_outputs: Vec<OutputTarget>,
    /// Keep every composed frame in an appsink (tests).
    pub tap: bool,
    pub stage: Stage,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            live: true,
            max_frames: None,
            extra_outputs: Vec::new(),
            tap: false,
            stage: Stage::Encode,
        }
    }
}

/// What `apply` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The change is in output frames from this one on.
    AtFrame(u64),
    /// The spec was not newer than the one on air; nothing changed.
    Ignored,
    /// A new resolution or frame rate: the pipeline was rebuilt for it.
    Restarted,
}

/// Starts streams. Cheap to clone; shares the image cache between streams.
#[derive(Clone)]
pub struct Engine {
    cfg: EngineConfig,
    images: Arc<ImageCache>,
}

impl Engine {
    /// Initialises GStreamer and the shared caches.
    pub fn new(cfg: EngineConfig) -> Result<Self> {
        gst::init().map_err(|e| RenderError::Gst {
            what: "initialise GStreamer".into(),
            source: gst::glib::bool_error!("{e}"),
        })?;
        Ok(Engine {
            cfg,
            images: Arc::new(ImageCache::new()),
        })
    }

    /// Builds and starts the pipeline for `spec`. Layers that fail to load are skipped (and
    /// reported as events); a bad config or a pipeline that cannot start is an error.
    pub fn start(&self, spec: &StreamSpec, opts: StreamOptions) -> Result<StreamHandle> {
        let events = EventSink::new(spec.stream_id);
        let running = self.launch(spec, &opts, &events, unix_ms())?;
        Ok(StreamHandle {
            engine: self.clone(),
            opts,
            stream_id: spec.stream_id,
            events,
            inner: Mutex::new(running),
        })
    }

    /// One pipeline and its two threads for `spec`.
    fn launch(
        &self,
        spec: &StreamSpec,
        opts: &StreamOptions,
        events: &EventSink,
        start_time: i64,
    ) -> Result<Running> {
        let id = spec.stream_id;
        let config = &spec.config;
        config
            .validate()
            .map_err(|e| RenderError::InvalidSpec(e.to_string()))?;
        if let Some(policy) = &self.cfg.policy {
            for url in &config.outputs {
                policy
                    .check_reachable("outputs", url, UrlUse::Output)
                    .map_err(|e| RenderError::Refused(e.to_string()))?;
            }
        }
        let built =
            OutputPipeline::build(config, &id.to_string(), opts.live, opts.stage, opts.tap)?;
        let mut outputs = built
            .mux_tee
            .clone()
            .map(|tee| Outputs::new(built.pipeline.clone(), tee, self.cfg.retry, events.clone()));
        if let Some(o) = &mut outputs {
            for url in &config.outputs {
                o.add(OutputTarget::Rtmp(url.clone()))?;
            }
            for t in &opts.extra_outputs {
                o.add(t.clone())?;
            }
        }
        let ctx = LoadContext {
            images: self.images.clone(),
            feeds: self.cfg.feeds.clone(),
            policy: self.cfg.policy.clone(),
            asset_base: self.cfg.asset_base.clone(),
            asset_key: self.cfg.asset_key.clone(),
        };
        let mut planner = Planner::new(
            ctx,
            config.target_fps,
            opts.live,
            built.audio.clone(),
            events.clone(),
        );
        let mut compositor = Compositor::new(
            config.resolution.width as usize,
            config.resolution.height as usize,
            config.target_fps,
        );
        compositor.apply(planner.plan(spec), 0);

        let pipeline = built.pipeline.clone();
        if pipeline.set_state(gst::State::Playing).is_err() {
            let reason = crate::sources::fetch::bus_error(&pipeline)
                .unwrap_or_else(|| "state change failed".into());
            let _ = pipeline.set_state(gst::State::Null);
            return Err(RenderError::Pipeline {
                element: "pipeline".into(),
                message: reason,
                debug: None,
            });
        }
        let report = Arc::new(Mutex::new(LiveReport {
            state: StreamState::Starting,
            node_id: Some(self.cfg.node_id.clone()),
            version: spec.version,
            start_time: Some(start_time),
            reported_at: unix_ms(),
            outputs: outputs.as_ref().map(|o| o.statuses()).unwrap_or_default(),
            ..LiveReport::default()
        }));
        let stats = Arc::new(FrameStats::default());
        let last_frame = Arc::new(Mutex::new(None));
        let (render_tx, render_rx) = mpsc::channel();
        let (sup_tx, sup_rx) = mpsc::channel();
        let (dispose_tx, dispose_rx) = mpsc::channel();
        let render = RenderLoop {
            stream_id: id,
            compositor,
            appsrc: built.video_in.clone(),
            pipeline: pipeline.clone(),
            fps: config.target_fps,
            live: opts.live,
            max_frames: opts.max_frames,
            commands: render_rx,
            stats: stats.clone(),
            disposal: dispose_tx,
            last_frame: last_frame.clone(),
        };
        let supervisor = Supervisor {
            stream_id: id,
            pipeline: pipeline.clone(),
            outputs,
            stats: stats.clone(),
            latency: built.latency.clone(),
            output_latency: built.output_latency.clone(),
            report: report.clone(),
            events: events.clone(),
            commands: sup_rx,
            disposal: dispose_rx,
            render: render_tx.clone(),
        };
        let spawn_err = |e: std::io::Error| RenderError::Io {
            what: "start a stream thread".into(),
            source: e,
        };
        let render_thread = std::thread::Builder::new()
            .name(format!("render-{}", short(id)))
            .spawn(move || render.run())
            .map_err(spawn_err)?;
        let sup_thread = std::thread::Builder::new()
            .name(format!("superv-{}", short(id)))
            .spawn(move || supervisor.run())
            .map_err(spawn_err)?;
        tracing::info!(stream_id = %id, version = spec.version, "stream started");
        let running = Running {
            render_tx,
            sup_tx,
            planner: Mutex::new(planner),
            spec: spec.clone(),
            report,
            threads: Some((render_thread, sup_thread)),
            tap: built.tap,
            stats,
            encoder: built.video_encoder,
            last_frame,
        };
        if spec.desired == DesiredState::Paused {
            running.set_paused(true);
        }
        Ok(running)
    }
}

fn short(id: Uuid) -> String {
    id.simple().to_string()[..8].to_owned()
}

/// The render thread and the supervisor thread (which returns the failure, if any).
type StreamThreads = (JoinHandle<LoopEnd>, JoinHandle<Option<String>>);

/// One pipeline of a stream (a new resolution or frame rate replaces it).
struct Running {
    render_tx: Sender<RenderCommand>,
    sup_tx: Sender<SupervisorCommand>,
    planner: Mutex<Planner>,
    spec: StreamSpec,
    report: Arc<Mutex<LiveReport>>,
    threads: Option<StreamThreads>,
    tap: Option<gst_app::AppSink>,
    stats: Arc<FrameStats>,
    encoder: Option<gst::Element>,
    last_frame: Arc<Mutex<Option<gst::Buffer>>>,
}

impl Running {
    fn set_paused(&self, paused: bool) {
        let _ = self.render_tx.send(RenderCommand::Pause(paused));
        if let Ok(mut r) = self.report.lock() {
            r.state = match (r.state, paused) {
                (StreamState::Live | StreamState::Starting, true) => StreamState::Paused,
                (StreamState::Paused, false) => StreamState::Live,
                (s, _) => s,
            };
        }
    }

    fn report(&self) -> LiveReport {
        let mut r = self.report.lock().map(|r| r.clone()).unwrap_or_default();
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
        let plan = self
            .planner
            .lock()
            .map_err(|_| RenderError::Stopped)?
            .plan(spec);
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        self.render_tx
            .send(RenderCommand::Apply(plan, ack_tx))
            .map_err(|_| RenderError::Stopped)?;
        let frame = ack_rx
            .recv_timeout(Duration::from_secs(5))
            .map_err(|_| RenderError::Stopped)?;
        self.set_paused(spec.desired == DesiredState::Paused);
        self.spec = spec.clone();
        if let Ok(mut r) = self.report.lock() {
            r.version = spec.version;
        }
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
    inner: Mutex<Running>,
}

impl StreamHandle {
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
        let mut running = self.inner.lock().map_err(|_| RenderError::Stopped)?;
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
            return Ok(Applied::Restarted);
        }
        let frame = running.apply(spec)?;
        tracing::debug!(stream_id = %self.stream_id, version = spec.version, frame, "change applied");
        Ok(Applied::AtFrame(frame))
    }

    /// The latest report (refreshed by the node once a second).
    pub fn report(&self) -> LiveReport {
        self.inner.lock().map(|r| r.report()).unwrap_or_default()
    }

    /// Events from now on: layer and source errors, output states, the end.
    pub fn events(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }

    /// Frames pushed to the encoder so far by the current pipeline.
    pub fn frames(&self) -> u64 {
        self.inner
            .lock()
            .map(|r| r.stats.frames.load(std::sync::atomic::Ordering::Relaxed))
            .unwrap_or(0)
    }

    /// The current pipeline's frame counters, to read while [`Self::wait`] holds the handle.
    pub fn frame_stats(&self) -> Option<Arc<FrameStats>> {
        self.inner.lock().ok().map(|r| r.stats.clone())
    }

    /// A JPEG of the frame on air (`quality` 1..=100); `None` before the first frame.
    pub fn snapshot_jpeg(&self, quality: u8) -> Result<Option<Vec<u8>>> {
        let (buffer, res) = {
            let running = self.inner.lock().map_err(|_| RenderError::Stopped)?;
            let buffer = running.last_frame.lock().ok().and_then(|b| b.clone());
            (buffer, running.spec.config.resolution)
        };
        let Some(buffer) = buffer else {
            return Ok(None);
        };
        let map = buffer
            .map_readable()
            .map_err(RenderError::gst("read the last frame"))?;
        crate::snapshot::i420_to_jpeg(&map, res.width as usize, res.height as usize, quality)
            .map(Some)
    }

    /// The appsink holding every composed frame, when started with `tap`.
    pub fn tap(&self) -> Option<gst_app::AppSink> {
        self.inner.lock().ok().and_then(|r| r.tap.clone())
    }

    /// Ends the stream cleanly: EOS through the muxer so files and RTMP close properly
    /// (bounded wait), then the pipeline goes to `Null`. Returns the final report; an error
    /// if the stream had failed.
    pub fn stop(&self) -> Result<LiveReport> {
        self.inner
            .lock()
            .map_err(|_| RenderError::Stopped)?
            .stop(false)
    }

    /// Waits for the stream to end by itself (a frame limit, or a failure).
    pub fn wait(&self) -> Result<LiveReport> {
        // Holding the lock while waiting is fine: there is nothing to apply to a stream
        // that is ending by itself.
        self.inner.lock().map_err(|_| RenderError::Stopped)?.join()
    }
}

impl Drop for StreamHandle {
    fn drop(&mut self) {
        if let Ok(r) = self.inner.get_mut()
            && r.threads.is_some()
        {
            let _ = r.stop(false);
        }
    }
}
