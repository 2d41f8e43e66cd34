//! Jobs and commands from the broker: start jobs pushed from the shared jobs queue while the
//! node has room (claim, acknowledge, start), and updates and stops pushed to the node's own
//! queue. Each is handled in a task of its own, tracked so shutdown can wait for them.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use lapin::Acker;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions, BasicRejectOptions};
use secrecy::ExposeSecret;
use shared::backoff::Backoff;
use shared::messages::{CommandEnvelope, NodeCommand, Topology};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::broker::{self, Incoming, Link};
use super::lifecycle::{Leaving, apply, start_stream, stop_stream};
use super::node::Node;

/// How often the node's room is compared with its jobs prefetch (no broker traffic unless
/// it changed).
const ROOM_CHECK: Duration = Duration::from_millis(100);

/// Connects to the broker (reconnecting with backoff) and hands out jobs and commands until
/// `token` is cancelled. Streams keep rendering while the broker is away.
pub(crate) async fn broker_loop(node: Arc<Node>, token: CancellationToken) {
    let cfg = &node.links.cfg;
    let topo = Topology::new(cfg.namespace.clone());
    let mut backoff = Backoff::new();
    while !token.is_cancelled() {
        let link = tokio::select! {
            _ = token.cancelled() => return,
            l = Link::connect(cfg.amqp_url.expose_secret(), &topo, &cfg.node_id) => l,
        };
        let mut link = match link {
            Ok(l) => {
                backoff.reset();
                tracing::info!(node_id = %cfg.node_id, "connected to the broker");
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
        let mut room = tokio::time::interval(ROOM_CHECK);
        loop {
            tokio::select! {
                _ = token.cancelled() => return,
                incoming = link.next() => match incoming {
                    Ok(Incoming::Command(delivery)) => {
                        let node2 = node.clone();
                        let span = broker::command_span(&delivery.properties);
                        node.handlers.spawn(async move { on_node_command(&node2, &delivery.data, &delivery.acker).await }.instrument(span));
                    }
                    Ok(Incoming::Job(delivery)) => spawn_job(&node, delivery),
                    Err(e) => { tracing::warn!(error = %e, "reconnecting to the broker"); break; }
                },
                _ = room.tick() => {
                    // Jobs being claimed already count against the free slots, and a new
                    // consumer starts with none unacknowledged: its prefetch is the room.
                    let accepting = node.accepting();
                    let want = if accepting { node.free_slots() } else { 0 };
                    match link.set_prefetch(u16::try_from(want).unwrap_or(u16::MAX)).await {
                        // Jobs the replaced consumer had received: run them while there is
                        // room; a node that stopped taking jobs (draining, CPU) hands them back.
                        Ok(pushed) if accepting => pushed.into_iter().for_each(|d| spawn_job(&node, d)),
                        Ok(pushed) => for d in pushed {
                            let _ = d.acker.nack(BasicNackOptions { requeue: true, multiple: false }).await;
                        },
                        Err(e) => { tracing::warn!(error = %e, "jobs queue unreachable; reconnecting"); break; }
                    }
                }
            }
        }
    }
}

/// Handles a start job in a task of its own; it counts as starting until it ran or was
/// handed back.
fn spawn_job(node: &Arc<Node>, delivery: Delivery) {
    node.starting.fetch_add(1, Ordering::Relaxed);
    let node2 = node.clone();
    let span = broker::job_span(&delivery.properties);
    node.handlers.spawn(
        async move {
            on_job(&node2, &delivery.data, &delivery.acker).await;
            node2.starting.fetch_sub(1, Ordering::Relaxed);
        }
        .instrument(span),
    );
}

/// The message's command, or `None` after rejecting it to the dead-letter queue (it is not
/// a command this node can read, and never will be).
async fn parse_or_reject(body: &[u8], acker: &Acker) -> Option<CommandEnvelope> {
    match broker::parse(body) {
        Ok(env) => Some(env),
        Err(e) => {
            tracing::error!(error = %e, "rejecting a poison message to the dead-letter queue");
            let _ = acker.reject(BasicRejectOptions { requeue: false }).await;
            None
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
    let Some(env) = parse_or_reject(body, acker).await else {
        return;
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
    let grant = match node.links.control.claim(stream_id).await {
        Ok(Ok(g)) => g,
        Ok(Err(status)) if status == reqwest::StatusCode::CONFLICT => {
            // Stopped, failed or already held by another node: nothing to do.
            tracing::info!(%stream_id, %status, "job not claimable; dropped");
            ack(acker).await;
            return;
        }
        // Only a definite "not claimable" drops a job; anything else (a 401 from a replica
        // with a rotated NODE_SECRET, a 404 from an older one) may be this node's or that
        // replica's problem, so the job goes back for another node.
        Ok(Err(status)) => return requeue(acker, stream_id, &status.to_string()).await,
        Err(e) => return requeue(acker, stream_id, &e.to_string()).await,
    };
    // The lease is recorded: the job has done its work. Acknowledge before the (slow)
    // pipeline start; a crash from here on is the reaper's to repair.
    let claim_ms = taken.elapsed().as_millis() as u64;
    ack(acker).await;
    node.jobs_consumed.increment(1);
    start_stream(node, grant.spec, grant.epoch, claim_ms).await;
}

/// Puts a job this node could not claim back in the queue, after a pause so that a node
/// that cannot claim does not spin on it.
async fn requeue(acker: &Acker, stream_id: uuid::Uuid, error: &str) {
    tracing::warn!(%stream_id, %error, "cannot claim; job goes back to the queue");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = acker
        .nack(BasicNackOptions {
            requeue: true,
            multiple: false,
        })
        .await;
}

/// An update or stop for a stream on this node.
async fn on_node_command(node: &Arc<Node>, body: &[u8], acker: &Acker) {
    let Some(env) = parse_or_reject(body, acker).await else {
        return;
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
