//! The fleet app: `render-node serve` — the node as a member of the fleet. It takes start
//! jobs from RabbitMQ, claims each stream's lease from the control plane, runs it on its
//! engine, applies updates routed to its own queue, renews its leases every second
//! (stopping any stream whose lease it lost), reports live state to Redis, and drains on
//! SIGTERM.
//!
//! - [`node`]: the [`Node`] every loop shares — links, engine, held streams, load.
//! - [`jobs`]: jobs and commands from the broker, each handled in a tracked task.
//! - [`broker`]: the AMQP link — the shared jobs queue (polled while there is capacity)
//!   and the node's own command queue.
//! - [`lifecycle`]: starting, changing and stopping a stream here.
//! - [`leases`]: renewal every second, and self-fencing when renewals fail.
//! - [`reports`]: live reports, tenant metrics events and the heartbeat every second.
//! - [`meters`]: audio meters ten times a second, while someone watches them.
//! - [`drain`]: handing every stream to other nodes on shutdown.
//! - [`held`]: the streams this node runs and their leases.
//! - [`admission`]: whether the node takes another job (slots, measured CPU and memory).
//! - [`http`]: `METRICS_ADDR` — metrics, health, stream snapshots, and ingest's relay.
//! - [`exposition`]: what `/metrics` shows, per-stream series included.
//!
//! The node drives its streams only through [`crate::engine::StreamEngine`], so a load
//! harness can run many [`Node`]s in one process on the simulated engine: give each its
//! own [`Links`] (settings, ports, namespace), no ingest, and admission limits high enough
//! that the shared process's CPU does not refuse jobs.

pub mod admission;
pub mod broker;
pub mod drain;
pub mod exposition;
pub mod held;
pub mod http;
pub mod jobs;
pub mod leases;
pub mod lifecycle;
pub mod meters;
pub mod node;
pub mod reports;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use node::Node;

use crate::engine::{Engine, EngineConfig, StreamEngine};
use crate::ingest::Ingest;
use crate::isolation::{Isolation, IsolationConfig, ProcessEngine};
use crate::links::{Links, NodeConfig};

/// How long shutdown waits for streams' event forwarders once every stream has stopped.
const FORWARDERS_GRACE: Duration = Duration::from_secs(5);

/// Runs a fleet node on the GStreamer engine (in-process, or a process per stream as
/// `STREAM_ISOLATION` says) with settings `cfg` until SIGTERM or Ctrl-C, then drains it.
pub fn serve(cfg: NodeConfig) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let links = Links::new(cfg)?;
    let ingest = Ingest::new(links.clone(), runtime.handle().clone())?;
    let cfg = &links.cfg;
    let isolation = IsolationConfig::from_env()?;
    let engine = Engine::new(EngineConfig {
        node_id: cfg.node_id.clone(),
        policy: Some(cfg.media.clone()),
        asset_bases: links.control.bases().to_vec(),
        asset_key: Some(cfg.node_secret.clone()),
        feeds: ingest.feeds(),
        preview_addr: Some(cfg.rtsp_addr),
        preview_key: Some(cfg.node_secret.clone()),
        memory_budget: cfg.stream_memory_budget,
        ..Default::default()
    })?;
    let engine: Arc<dyn StreamEngine> = match isolation.mode {
        Isolation::InProcess => Arc::new(engine),
        Isolation::Process => Arc::new(ProcessEngine::new(
            engine,
            isolation.budget,
            cfg.node_id.clone(),
            links.control.bases().to_vec(),
        )?),
    };
    runtime.block_on(async {
        let token = shared::shutdown::on_signal();
        let node = Node::new(links, engine, Some(ingest));
        run(node, token).await;
    });
    Ok(())
}

/// Runs `node` until `token` is cancelled, then drains it: jobs and commands in flight
/// finish, its streams are handed to other nodes and stopped cleanly, and its ingest
/// connections are closed and cleaned up.
pub async fn run(node: Arc<Node>, token: CancellationToken) {
    // In the background: the ingest and HTTP servers must not wait for it, and a job taken
    // meanwhile is no slower than on a cold node.
    let engine = node.engine.clone();
    tokio::spawn(async move {
        let t0 = Instant::now();
        match tokio::task::spawn_blocking(move || engine.warm_up()).await {
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
    tracing::info!(node_id = %node.id(), capacity = node.links.cfg.limits.capacity, "render node joining the fleet");
    // Leases are renewed until the drain is over: a stream not yet handed over stays ours.
    let drained = CancellationToken::new();
    let tasks = TaskTracker::new();
    tasks.spawn(http::serve(node.clone(), token.clone()));
    tasks.spawn(leases::lease_loop(node.clone(), drained.clone()));
    tasks.spawn(reports::report_loop(node.clone(), token.clone()));
    tasks.spawn(meters::meter_loop(node.clone(), token.clone()));
    if let Some(ingest) = &node.ingest {
        tasks.spawn(ingest.clone().run(token.clone()));
    }
    tasks.close();
    jobs::broker_loop(node.clone(), token.clone()).await;
    // A stream a job is starting right now is drained with the others.
    node.handlers.close();
    node.handlers.wait().await;
    drain::drain(&node).await;
    drained.cancel();
    node.forwarders.close();
    if tokio::time::timeout(FORWARDERS_GRACE, node.forwarders.wait())
        .await
        .is_err()
    {
        tracing::warn!("some streams' events were still being forwarded at exit");
    }
    tasks.wait().await;
}
