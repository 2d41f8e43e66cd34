//! The fleet node's loops: commands from the broker, lease renewal, live reports, drain.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use lapin::Acker;
use lapin::options::{BasicAckOptions, BasicNackOptions, BasicRejectOptions};
use serde_json::json;
use shared::backoff::Backoff;
use shared::events::EventType;
use shared::messages::{NodeCommand, Topology};
use shared::node_api::{NodeInfo, Release};
use shared::spec::StreamSpec;
use shared::status::StreamState;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use crate::engine::{Engine, StreamOptions};
use crate::events::NodeEvent;
use crate::fleet::admission::{self, Load, MemoryUse, Refusal};
use crate::fleet::commands::{self, Link};
use crate::fleet::config::NodeConfig;
use crate::fleet::control_api::{ApiCallError, ControlApi};
use crate::fleet::held::{HeldStream, HeldStreams};
use crate::fleet::live_state::LiveState;
use crate::ingest::Ingest;
use crate::metrics::{CLOCK_TICKS_PER_SEC, process_cpu_ticks, resident_bytes};
use crate::supervisor::unix_ms;

/// How often the jobs queue is polled while the node has room.
const POLL: Duration = Duration::from_millis(100);
/// How often leases are renewed and reports written.
const TICK: Duration = Duration::from_secs(1);
/// Without a successful renewal for this long the node stops its streams: the control plane
/// may already have given them to another node (the lease TTL is 3 s).
const FENCE_AFTER: Duration = Duration::from_millis(2_800);

/// Everything the loops share.
pub struct Node {
    pub cfg: NodeConfig,
    pub engine: Engine,
    pub api: ControlApi,
    pub live: LiveState,
    pub held: HeldStreams,
    /// Streams being started (they count against capacity).
    starting: AtomicUsize,
    draining: AtomicBool,
    /// Percent of one core used by the process over the last tick.
    cpu_percent: std::sync::Mutex<f64>,
    /// The machine's or container's memory as of the last tick.
    memory: std::sync::Mutex<Option<MemoryUse>>,
    /// Why the node last refused jobs, to log changes only.
    refusal: std::sync::Mutex<Option<Refusal>>,
    /// The RTSP preview server, when it could start.
    preview: Option<crate::fleet::rtsp::Preview>,
    /// RTMP ingest: this node's published feeds.
    pub ingest: Arc<Ingest>,
}

impl Node {
    /// A node ready to run.
    pub fn new(cfg: NodeConfig, engine: Engine, ingest: Arc<Ingest>) -> anyhow::Result<Arc<Self>> {
        let cfg_rtsp = cfg.rtsp_addr;
        Ok(Arc::new(Node {
            api: ControlApi::new(&cfg.control_plane_urls, &cfg.node_secret, &cfg.node_id)?,
            live: LiveState::new(&cfg.redis_url, &cfg.namespace)?,
            engine,
            cfg,
            held: HeldStreams::default(),
            starting: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
            cpu_percent: std::sync::Mutex::new(0.0),
            memory: std::sync::Mutex::new(MemoryUse::measure()),
            refusal: std::sync::Mutex::new(None),
            ingest,
            preview: match crate::fleet::rtsp::Preview::start(cfg_rtsp) {
                Ok(p) => Some(p),
                Err(e) => {
                    tracing::error!(error = %e, "running without an RTSP preview");
                    None
                }
            },
        }))
    }

    fn cpu(&self) -> f64 {
        *self.cpu_percent.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What admission looks at, as of the last tick.
    fn load(&self) -> Load {
        Load {
            busy: self.held.len() + self.starting.load(Ordering::Relaxed),
            draining: self.draining.load(Ordering::Relaxed),
            cpu_percent: self.cpu(),
            cores: std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64),
            memory: *self.memory.lock().unwrap_or_else(|p| p.into_inner()),
        }
    }

    /// Whether the node should take another job: not draining, a free slot, CPU and memory
    /// headroom. Logs when the answer changes.
    fn accepting(&self) -> bool {
        let verdict = admission::admit(&self.cfg.limits, &self.load()).err();
        let mut last = self.refusal.lock().unwrap_or_else(|p| p.into_inner());
        if *last != verdict {
            match verdict {
                Some(reason) => {
                    tracing::info!(node_id = %self.cfg.node_id, reason = reason.as_str(), "taking no new jobs")
                }
                None => tracing::info!(node_id = %self.cfg.node_id, "taking jobs again"),
            }
            *last = verdict;
        }
        verdict.is_none()
    }

    fn info(&self) -> NodeInfo {
        NodeInfo {
            node_id: self.cfg.node_id.clone(),
            capacity: self.cfg.limits.capacity,
            streams: self.held.len(),
            cpu_usage: self.cpu(),
            memory_usage: resident_bytes(),
            accepting: self.accepting(),
            draining: self.draining.load(Ordering::Relaxed),
            http_addr: self.cfg.advertise_addr.clone(),
            updated_at: unix_ms(),
        }
    }
}

/// Runs the node until `token` is cancelled, then drains: its streams are handed to other
/// nodes and stopped cleanly.
pub async fn run(node: Arc<Node>, token: CancellationToken) -> anyhow::Result<()> {
    // In the background: the ingest and HTTP servers must not wait for it, and a job taken
    // meanwhile is no slower than on a cold node.
    tokio::spawn(async {
        let t0 = Instant::now();
        match tokio::task::spawn_blocking(crate::pipeline::warm_up).await {
            Ok(Ok(())) => {
                tracing::info!(
                    took_ms = t0.elapsed().as_millis() as u64,
                    "pipeline warmed up"
                )
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "the warm-up pipeline failed; streams may fail too")
            }
            Err(e) => tracing::error!(error = %e, "the warm-up panicked"),
        }
    });
    tracing::info!(node_id = %node.cfg.node_id, capacity = node.cfg.limits.capacity, "render node joining the fleet");
    let metrics = crate::fleet::http::install_metrics();
    let http = tokio::spawn(crate::fleet::http::serve(
        node.clone(),
        metrics,
        token.clone(),
    ));
    let leases = tokio::spawn(lease_loop(node.clone(), token.clone()));
    let reports = tokio::spawn(report_loop(node.clone(), token.clone()));
    let ingest = tokio::spawn(node.ingest.clone().run(token.clone()));
    broker_loop(node.clone(), token.clone()).await;
    drain(&node).await;
    for task in [leases, reports, http, ingest] {
        if let Err(e) = task.await {
            tracing::error!(error = %e, "node task ended abnormally");
        }
    }
    Ok(())
}

/// Connects to the broker (reconnecting with backoff) and handles commands. Streams keep
/// rendering while the broker is away.
async fn broker_loop(node: Arc<Node>, token: CancellationToken) {
    let topo = Topology::new(node.cfg.namespace.clone());
    let mut backoff = Backoff::new();
    while !token.is_cancelled() {
        let link = tokio::select! {
            _ = token.cancelled() => return,
            l = Link::connect(&node.cfg.amqp_url, &topo, &node.cfg.node_id) => l,
        };
        let mut link = match link {
            Ok(l) => {
                backoff.reset();
                tracing::info!(node_id = %node.cfg.node_id, "connected to the broker");
                l
            }
            Err(e) => {
                let wait = backoff.next_delay();
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "broker unreachable");
                tokio::select! {
                    _ = token.cancelled() => return,
                    _ = tokio::time::sleep(wait) => {}
                }
                continue;
            }
        };
        let mut poll = tokio::time::interval(POLL);
        loop {
            tokio::select! {
                _ = token.cancelled() => return,
                cmd = link.next_command() => match cmd {
                    Some(Ok(delivery)) => {
                        let node = node.clone();
                        let span = commands::command_span(&delivery.properties);
                        tokio::spawn(async move { on_node_command(&node, &delivery.data, &delivery.acker).await }.instrument(span));
                    }
                    Some(Err(e)) => { tracing::warn!(error = %e, "command consumer failed; reconnecting"); break; }
                    None => { tracing::warn!("command consumer ended; reconnecting"); break; }
                },
                _ = poll.tick() => {
                    if !node.accepting() {
                        continue;
                    }
                    match link.take_job().await {
                        Ok(Some(msg)) => {
                            node.starting.fetch_add(1, Ordering::Relaxed);
                            let node = node.clone();
                            let span = commands::job_span(&msg.delivery.properties);
                            tokio::spawn(async move {
                                on_job(&node, &msg.delivery.data, &msg.delivery.acker).await;
                                node.starting.fetch_sub(1, Ordering::Relaxed);
                            }.instrument(span));
                        }
                        Ok(None) => {}
                        Err(e) => { tracing::warn!(error = %e, "jobs queue unreachable; reconnecting"); break; }
                    }
                }
            }
        }
    }
}

async fn ack(acker: &Acker) {
    if let Err(e) = acker.ack(BasicAckOptions::default()).await {
        tracing::warn!(error = %e, "ack failed (the broker will redeliver)");
    }
}

/// A start job: claim the stream, acknowledge, then start it.
async fn on_job(node: &Arc<Node>, body: &[u8], acker: &Acker) {
    let env = match commands::parse(body) {
        Ok(env) => env,
        Err(e) => {
            tracing::error!(error = %e, "rejecting a poison job to the dead-letter queue");
            let _ = acker.reject(BasicRejectOptions { requeue: false }).await;
            return;
        }
    };
    let NodeCommand::Start { spec } = env.command else {
        tracing::warn!("ignoring a non-start command on the jobs queue");
        ack(acker).await;
        return;
    };
    let stream_id = spec.stream_id;
    tracing::Span::current().record("stream_id", tracing::field::display(stream_id));
    tracing::debug!(%stream_id, version = spec.version, "job taken");
    let taken = Instant::now();
    let grant = match node.api.claim(stream_id).await {
        Ok(Some(g)) => g,
        Ok(None) => {
            // Stopped, failed or already held by another node: nothing to do.
            tracing::info!(%stream_id, "job not claimable; dropped");
            ack(acker).await;
            return;
        }
        Err(e) => {
            tracing::warn!(%stream_id, error = %e, "cannot claim; job goes back to the queue");
            tokio::time::sleep(Duration::from_millis(500)).await;
            let _ = acker
                .nack(BasicNackOptions {
                    requeue: true,
                    multiple: false,
                })
                .await;
            return;
        }
    };
    // The lease is recorded: the job has done its work. Acknowledge before the (slow)
    // pipeline start; a crash from here on is the reaper's to repair.
    let claim_ms = taken.elapsed().as_millis() as u64;
    ack(acker).await;
    metrics::counter!("jobs_consumed_total").increment(1);
    start_stream(node, grant.spec, grant.epoch, claim_ms).await;
}

/// Starts a claimed stream; `claim_ms` (how long the claim took) goes into the log line that
/// times the start's stages.
async fn start_stream(node: &Arc<Node>, spec: StreamSpec, epoch: i64, claim_ms: u64) {
    let stream_id = spec.stream_id;
    let tenant = spec.tenant_id.clone();
    let engine = node.engine.clone();
    if let Some(p) = &node.preview {
        p.mount(&spec);
    }
    let t0 = Instant::now();
    let started =
        tokio::task::spawn_blocking(move || engine.start(&spec, StreamOptions::default())).await;
    let pipeline_ms = t0.elapsed().as_millis() as u64;
    let handle = match started {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => return give_up(node, stream_id, &tenant, epoch, &e.to_string()).await,
        Err(e) => {
            return give_up(
                node,
                stream_id,
                &tenant,
                epoch,
                &format!("start panicked: {e}"),
            )
            .await;
        }
    };
    let events = handle.events();
    let held = node.held.insert(
        stream_id,
        HeldStream {
            handle,
            tenant: tenant.clone(),
            epoch,
            announced_live: AtomicBool::new(false),
            last_state: std::sync::Mutex::new(StreamState::Starting),
        },
    );
    tracing::info!(%stream_id, %tenant, epoch, claim_ms, pipeline_ms, "stream started");
    let mut report = held.handle.report();
    report.node_id = Some(node.cfg.node_id.clone());
    node.live.write_report(stream_id, &report).await;
    // Subscribed before this check: a stream live already is reported here, a later one
    // on its `Live` event.
    if report.state == StreamState::Live {
        report_stream(node, stream_id, &held).await;
    }
    tokio::spawn(forward_events(
        node.clone(),
        stream_id,
        Arc::downgrade(&held),
        tenant,
        events,
    ));
}

/// Reports a stream this node could not run: it is marked failed with the reason.
async fn give_up(node: &Arc<Node>, stream_id: Uuid, tenant: &str, epoch: i64, reason: &str) {
    tracing::error!(%stream_id, %tenant, %reason, "cannot run the stream");
    if let Some(p) = &node.preview {
        p.unmount(stream_id);
    }
    let release = Release {
        epoch,
        failure: Some(reason.to_owned()),
        handoff: false,
    };
    if let Err(e) = node.api.release(stream_id, &release).await {
        tracing::warn!(%stream_id, error = %e, "release not recorded; the lease will lapse");
    }
}

/// Turns a stream's errors into `stream:error` events for its tenant, and reports the stream
/// the moment it goes live.
async fn forward_events(
    node: Arc<Node>,
    stream_id: Uuid,
    held: Weak<HeldStream>,
    tenant: String,
    mut events: tokio::sync::broadcast::Receiver<NodeEvent>,
) {
    while let Ok(event) = events.recv().await {
        let data = match &event {
            // Reported now rather than at the next tick: status, the control plane's `live`
            // and the tenant's `stream:status` come up to a second sooner after a start or a
            // failover. Only while this node still holds this very stream.
            NodeEvent::Live => {
                if let Some(held) = held.upgrade()
                    && node
                        .held
                        .get(stream_id)
                        .is_some_and(|h| Arc::ptr_eq(&h, &held))
                {
                    report_stream(&node, stream_id, &held).await;
                }
                continue;
            }
            NodeEvent::LayerError { .. }
            | NodeEvent::SourceError { .. }
            | NodeEvent::StreamFailed { .. } => serde_json::to_value(&event).unwrap_or_default(),
            NodeEvent::Output { error: Some(_), .. } => {
                serde_json::to_value(&event).unwrap_or_default()
            }
            NodeEvent::StreamEnded => break,
            NodeEvent::Output { .. } => continue,
        };
        node.live
            .publish(&tenant, stream_id, EventType::StreamError, data)
            .await;
    }
}

/// An update or stop for a stream on this node.
async fn on_node_command(node: &Arc<Node>, body: &[u8], acker: &Acker) {
    let env = match commands::parse(body) {
        Ok(env) => env,
        Err(e) => {
            tracing::error!(error = %e, "rejecting a poison command");
            let _ = acker.reject(BasicRejectOptions { requeue: false }).await;
            return;
        }
    };
    tracing::Span::current().record(
        "stream_id",
        tracing::field::display(env.command.stream_id()),
    );
    match env.command {
        NodeCommand::Update { spec } => apply(node, *spec).await,
        NodeCommand::Stop { stream_id, version } => match node.held.get(stream_id) {
            // A stop bumps the version past the state it stops, so one at or below the
            // version on air is a duplicate or a late message from before a later start.
            Some(held) if version <= held.handle.report().version => {
                tracing::info!(%stream_id, version, "stale stop ignored: a newer state is on air");
            }
            _ => {
                tracing::info!(%stream_id, version, "stop requested");
                stop_stream(node, stream_id, Leaving::Stopped).await;
            }
        },
        NodeCommand::Start { .. } => tracing::warn!("ignoring a start sent to a node queue"),
    }
    ack(acker).await;
}

async fn apply(node: &Arc<Node>, spec: StreamSpec) {
    let stream_id = spec.stream_id;
    let Some(held) = node.held.get(stream_id) else {
        tracing::debug!(%stream_id, "update for a stream not on this node; ignored");
        return;
    };
    let version = spec.version;
    tracing::debug!(%stream_id, version, "update received");
    let h = held.clone();
    let applied = tokio::task::spawn_blocking(move || h.handle.apply(&spec)).await;
    match applied {
        Ok(Ok(outcome)) => tracing::debug!(%stream_id, version, ?outcome, "update applied"),
        Ok(Err(e)) => {
            tracing::warn!(%stream_id, version, error = %e, "update not applied");
            node.live
                .publish(
                    &held.tenant,
                    stream_id,
                    EventType::StreamError,
                    json!({ "message": e.to_string(), "version": version }),
                )
                .await;
        }
        Err(e) => tracing::error!(%stream_id, error = %e, "update panicked"),
    }
}

/// How a stream leaves this node.
enum Leaving {
    /// Stopped by its tenant: its live state goes with it.
    Stopped,
    /// Handed to another node (drain): the lease is released first.
    HandedOff(Release),
    /// Its lease moved to another node: that node's live state must not be touched.
    Fenced,
}

/// Stops a stream here.
async fn stop_stream(node: &Arc<Node>, stream_id: Uuid, leaving: Leaving) {
    let Some(held) = node.held.remove(stream_id) else {
        return;
    };
    if let Some(p) = &node.preview {
        p.unmount(stream_id);
    }
    if let Leaving::HandedOff(r) = &leaving
        && let Err(e) = node.api.release(stream_id, r).await
    {
        tracing::warn!(%stream_id, error = %e, "release not recorded; the lease will lapse");
    }
    let h = held.clone();
    match tokio::task::spawn_blocking(move || h.handle.stop()).await {
        Ok(Ok(_)) => tracing::info!(%stream_id, "stream stopped"),
        Ok(Err(e)) => tracing::warn!(%stream_id, error = %e, "stream ended badly"),
        Err(e) => tracing::error!(%stream_id, error = %e, "stop panicked"),
    }
    if matches!(leaving, Leaving::Stopped) {
        node.live.clear_report(stream_id).await;
        node.live
            .publish(
                &held.tenant,
                stream_id,
                EventType::StreamStatus,
                json!({ "state": "idle", "nodeId": node.cfg.node_id }),
            )
            .await;
    }
}

/// Renews every lease each second; stops streams whose lease is lost, catches up streams
/// whose desired state moved on without us hearing, and fences itself when it cannot renew.
async fn lease_loop(node: Arc<Node>, token: CancellationToken) {
    let mut last_ok = Instant::now();
    let mut tick = tokio::time::interval(TICK);
    while !token.is_cancelled() {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tick.tick() => {}
        }
        let leases = node.held.leases();
        if leases.is_empty() {
            last_ok = Instant::now();
            continue;
        }
        match node.api.renew(leases).await {
            Ok(states) => {
                last_ok = Instant::now();
                for s in states {
                    if !s.held {
                        tracing::warn!(stream_id = %s.stream_id, "lease lost: stopping the stream here");
                        stop_stream(&node, s.stream_id, Leaving::Fenced).await;
                        continue;
                    }
                    let Some(held) = node.held.get(s.stream_id) else {
                        continue;
                    };
                    if s.version > held.handle.report().version {
                        // A command was missed (or is late): catch up from the latest state.
                        if let Ok(Some(spec)) = node.api.spec(s.stream_id).await {
                            apply(&node, spec).await;
                        }
                    }
                }
            }
            // A control plane that answers but cannot reach its database cannot reassign
            // our streams either (leases move only through the database), so rendering on
            // is safe; only silence from every control plane could mean we are cut off
            // while someone else takes over.
            Err(e @ ApiCallError::Unavailable(_)) => {
                tracing::warn!(error = %e, "lease renewal postponed: the control plane's database is away");
                last_ok = Instant::now();
            }
            Err(e) if last_ok.elapsed() > FENCE_AFTER => {
                tracing::error!(error = %e, "cannot renew leases: stopping every stream (another node may take them)");
                for (id, _) in node.held.all() {
                    stop_stream(&node, id, Leaving::Fenced).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "lease renewal failed; retrying"),
        }
    }
}

/// Writes each stream's report and the node's heartbeat every second, and publishes
/// `metrics:update` (and `stream:status` on changes) for tenants.
async fn report_loop(node: Arc<Node>, token: CancellationToken) {
    let mut tick = tokio::time::interval(TICK);
    let mut last_cpu = (Instant::now(), process_cpu_ticks().unwrap_or(0));
    while !token.is_cancelled() {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Some(ticks) = process_cpu_ticks() {
            let secs = last_cpu.0.elapsed().as_secs_f64().max(0.001);
            let pct =
                (ticks.saturating_sub(last_cpu.1) as f64 / CLOCK_TICKS_PER_SEC) / secs * 100.0;
            *node.cpu_percent.lock().unwrap_or_else(|p| p.into_inner()) = pct;
            last_cpu = (Instant::now(), ticks);
        }
        let memory = MemoryUse::measure();
        if let Some(m) = memory {
            metrics::gauge!("node_memory_percent").set(m.percent());
        }
        *node.memory.lock().unwrap_or_else(|p| p.into_inner()) = memory;
        for (id, held) in node.held.all() {
            report_stream(&node, id, &held).await;
        }
        let info = node.info();
        metrics::gauge!("node_capacity").set(info.capacity as f64);
        metrics::gauge!("node_streams").set(info.streams as f64);
        metrics::gauge!("node_cpu_percent").set(info.cpu_usage);
        metrics::gauge!("node_memory_bytes").set(info.memory_usage as f64);
        metrics::gauge!("node_accepting").set(if info.accepting { 1.0 } else { 0.0 });
        node.live.heartbeat(&info).await;
    }
}

/// Writes one stream's report, publishes its metrics (and its status when it changed), and
/// tells the control plane once it is live.
async fn report_stream(node: &Arc<Node>, id: Uuid, held: &HeldStream) {
    let mut report = held.handle.report();
    report.node_id = Some(node.cfg.node_id.clone());
    if report.state == StreamState::Failed {
        let reason = report
            .reason
            .clone()
            .unwrap_or_else(|| "the pipeline failed".into());
        node.held.remove(id);
        node.live.clear_report(id).await;
        give_up(node, id, &held.tenant, held.epoch, &reason).await;
        return;
    }
    node.live.write_report(id, &report).await;
    let labels = [("stream_id", id.to_string())];
    metrics::gauge!("stream_fps", &labels).set(report.fps);
    metrics::gauge!("stream_frames", &labels).set(report.frame_count as f64);
    metrics::gauge!("stream_dropped_frames", &labels).set(report.dropped_frames as f64);
    metrics::gauge!("stream_composite_ms", &labels).set(report.average_render_time);
    metrics::gauge!("stream_encoder_latency_ms", &labels).set(report.encoder_latency_ms);
    metrics::gauge!("stream_output_latency_ms", &labels).set(report.output_latency_ms);
    metrics::gauge!("stream_output_bitrate_kbps", &labels).set(report.bitrate);
    let metrics = json!({
        "fps": report.fps, "bitrate": report.bitrate, "dropped": report.dropped_frames,
        "droppedFrames": report.dropped_frames, "frameCount": report.frame_count,
        "averageRenderTime": report.average_render_time, "encoderLatency": report.encoder_latency_ms,
        "cpu": report.cpu_usage, "memory": report.memory_usage,
    });
    node.live
        .publish(&held.tenant, id, EventType::MetricsUpdate, metrics)
        .await;
    if held.state_changed(report.state) {
        let data = serde_json::to_value(&report).unwrap_or_default();
        node.live
            .publish(&held.tenant, id, EventType::StreamStatus, data)
            .await;
    }
    if report.state == StreamState::Live && held.needs_live_announcement() {
        match node.api.live(id, held.epoch).await {
            Ok(true) => held.announced(),
            Ok(false) => tracing::warn!(stream_id = %id, "lease lost before going live"),
            Err(e) => tracing::warn!(stream_id = %id, error = %e, "live not recorded yet"),
        }
    }
}

/// Hands every stream to other nodes and stops it cleanly; leaves the registry.
async fn drain(node: &Arc<Node>) {
    node.draining.store(true, Ordering::Relaxed);
    let streams = node.held.all();
    tracing::info!(node_id = %node.cfg.node_id, streams = streams.len(), "draining");
    for (id, held) in streams {
        let release = Release {
            epoch: held.epoch,
            failure: None,
            handoff: true,
        };
        stop_stream(node, id, Leaving::HandedOff(release)).await;
    }
    node.live.leave(&node.cfg.node_id).await;
    tracing::info!(node_id = %node.cfg.node_id, "drained");
}
