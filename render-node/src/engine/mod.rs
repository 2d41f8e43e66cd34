//! The engine: starts streams from a [`StreamSpec`] and hands out a [`StreamHandle`] per
//! stream to change, observe and stop it.
//!
//! Each stream has its own pipeline and two threads (render loop, supervisor), so one
//! stream's failure never touches another's. Handle methods are blocking but short (apply
//! blocks while new media loads); async callers wrap them in `spawn_blocking`.
//!
//! - [`stream`]: a running stream and its handle.
//! - [`plan`]: diffs a new spec against the one on air and loads what changed, off the
//!   render thread, into a compositor plan.
//! - [`render_loop`]: one thread per stream producing timestamped frames on the pipeline
//!   clock into an `appsrc`.
//! - [`supervisor`]: the stream's other thread — bus, outputs, the once-a-second report.
//! - [`stats`]: the frame counters and per-second rates the report is built from.
//! - [`events`]: what a stream tells its owner.
//! - [`flv_offset`]: output timestamps starting where a restarted stream's process left off.
//! - [`snapshot`]: a JPEG of the frame on air.
//! - [`preview`]: the RTSP preview of every stream (`RTSP_ADDR`).
//! - [`preview_auth`]: who may watch it (a signed, expiring grant per stream).
//! - [`stream_engine`]: the seam the fleet drives engines through ([`StreamEngine`],
//!   [`RunningStream`]), implemented here for this in-process GStreamer engine.
//! - [`sim`]: a simulated engine that reports frames without GStreamer (fleet load tests).

pub mod events;
pub mod flv_offset;
pub mod plan;
pub mod preview;
pub mod preview_auth;
pub mod render_loop;
pub mod sim;
pub mod snapshot;
pub mod stats;
pub mod stream;
pub mod stream_engine;
pub mod supervisor;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc;

use gstreamer as gst;
use gstreamer::prelude::*;
use parking_lot::Mutex;
use secrecy::SecretString;
use shared::backoff::Policy;
use shared::media_url::MediaPolicy;
use shared::spec::{DesiredState, StreamSpec};
use shared::status::{LiveReport, StreamState};
use uuid::Uuid;

pub use self::events::NodeEvent;
pub use self::stream::StreamHandle;
pub use self::stream_engine::{RunningStream, StreamEngine};

use self::events::EventSink;
use self::plan::{LoadContext, Planner};
use self::preview::Preview;
use self::render_loop::RenderLoop;
use self::stats::FrameStats;
use self::stream::Running;
use self::supervisor::{Supervisor, SupervisorCommand};
use crate::compose::Compositor;
use crate::error::{RenderError, Result};
use crate::output::{DEFAULT_RETRY, OutputTarget, Outputs};
use crate::pipeline::{OutputPipeline, Stage};
use crate::sources::image::ImageCache;
use crate::sources::ingest::{IngestFeeds, NoFeeds};
use crate::system::unix_ms;

/// Target of the per-frame timing lines `STREAM_PERF_METRICS` turns on.
pub const PERF_TARGET: &str = "render_node::perf";

/// Node-wide settings.
#[derive(Clone)]
pub struct EngineConfig {
    /// Reported in every [`LiveReport`].
    pub node_id: String,
    /// URL rules for media and outputs; `None` trusts everything (standalone use).
    pub policy: Option<MediaPolicy>,
    /// The control-plane replicas' base URLs, for image layers naming an uploaded asset
    /// (tried in turn, so one replica down does not fail the layer); empty outside a fleet.
    pub asset_bases: Vec<String>,
    /// Signs asset URLs for the control plane (`NODE_SECRET`).
    pub asset_key: Option<SecretString>,
    /// How dropped destinations are retried.
    pub retry: Policy,
    /// Live feeds for ingest layers.
    pub feeds: Arc<dyn IngestFeeds>,
    /// Where to serve every stream's RTSP preview; `None` serves none.
    pub preview_addr: Option<SocketAddr>,
    /// The key preview grants are signed with (`NODE_SECRET`); `None` serves the preview to
    /// anyone who reaches it (the standalone command on loopback).
    pub preview_key: Option<SecretString>,
    /// Bytes of pictures one stream may hold (`compose::cost`): a stream past it fails,
    /// the node's other streams go on. `None`: no limit.
    pub memory_budget: Option<u64>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            node_id: "local".into(),
            policy: None,
            asset_bases: Vec::new(),
            asset_key: None,
            retry: DEFAULT_RETRY,
            feeds: Arc::new(NoFeeds),
            preview_addr: None,
            preview_key: None,
            memory_budget: None,
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
    /// Where output (FLV/RTMP) timestamps start, in ms: a stream's restarted process goes
    /// on from where the crashed one was.
    pub timestamp_offset_ms: u64,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            live: true,
            max_frames: None,
            extra_outputs: Vec::new(),
            tap: false,
            stage: Stage::Encode,
            timestamp_offset_ms: 0,
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

/// Starts streams. Cheap to clone; shares the image cache (and the preview server) between
/// streams.
#[derive(Clone)]
pub struct Engine {
    cfg: EngineConfig,
    images: Arc<ImageCache>,
    preview: Option<Arc<Preview>>,
}

impl Engine {
    /// Initialises GStreamer and the shared caches.
    pub fn new(cfg: EngineConfig) -> Result<Self> {
        gst::init().map_err(|e| RenderError::Gst {
            what: "initialise GStreamer".into(),
            source: gst::glib::bool_error!("{e}"),
        })?;
        let preview =
            cfg.preview_addr
                .and_then(|addr| match Preview::start(addr, cfg.preview_key.clone()) {
                    Ok(p) => Some(Arc::new(p)),
                    Err(e) => {
                        tracing::error!(error = %e, "running without an RTSP preview");
                        None
                    }
                });
        Ok(Engine {
            cfg,
            images: Arc::new(ImageCache::new()),
            preview,
        })
    }

    /// Builds and starts the pipeline for `spec`. Layers that fail to load are skipped (and
    /// reported as events); a bad config or a pipeline that cannot start is an error.
    pub fn start(&self, spec: &StreamSpec, opts: StreamOptions) -> Result<StreamHandle> {
        let events = EventSink::new(spec.stream_id);
        let running = self.launch(spec, &opts, &events, unix_ms())?;
        self.mount_preview(spec);
        Ok(StreamHandle::new(
            self.clone(),
            opts,
            spec.stream_id,
            events,
            running,
        ))
    }

    /// Serves `spec`'s stream on the RTSP preview (again, after a new resolution).
    pub(crate) fn mount_preview(&self, spec: &StreamSpec) {
        if let Some(p) = &self.preview {
            p.mount(spec);
        }
    }

    /// Stops serving a stream's preview.
    pub(crate) fn unmount_preview(&self, stream_id: Uuid) {
        if let Some(p) = &self.preview {
            p.unmount(stream_id);
        }
    }

    /// One pipeline and its two threads for `spec`.
    pub(crate) fn launch(
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
        // Destinations are checked as each connects (`output::pin`): at start, when added
        // live and at every retry, against the address the connection then uses.
        let built =
            OutputPipeline::build(config, &id.to_string(), opts.live, opts.stage, opts.tap)?;
        let mut outputs = built.mux_tee.clone().map(|tee| {
            Outputs::new(
                built.pipeline.clone(),
                tee,
                self.cfg.retry,
                self.cfg.policy.clone(),
                events.output_changes(),
            )
        });
        if opts.timestamp_offset_ms > 0
            && let Some(tee) = &built.mux_tee
        {
            flv_offset::shift_timestamps(tee, opts.timestamp_offset_ms);
        }
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
            asset_bases: self.cfg.asset_bases.clone(),
            asset_key: self.cfg.asset_key.clone(),
            memory_budget: self.cfg.memory_budget,
        };
        let mut planner = Planner::new(
            ctx,
            (config.resolution.width, config.resolution.height),
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
        if let Some(reason) = planner.over_budget() {
            return Err(RenderError::OverBudget(reason.to_owned()));
        }

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
            on_end: {
                let sup = sup_tx.clone();
                Box::new(move || {
                    let _ = sup.send(SupervisorCommand::Stopping);
                })
            },
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
            mix: built.audio.as_ref().map(|a| a.mix().clone()),
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
