//! The driver: creates a tenant mix of streams on the control planes, starts them all in
//! one burst, runs the API workload while watching every stream's reported place, kills
//! one node process abruptly mid-run, and prints what it saw as `FIGURE name=value unit`
//! lines. What the services cost (Postgres, Redis, AMQP, control-plane CPU) the script
//! measures around this run.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{StreamExt, stream};
use parking_lot::Mutex;
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use crate::api::{Api, Target};
use crate::figure;
use crate::watch::{Seen, Watcher};
use crate::workload::Tally;

/// Streams per tenant, in turn: a tenant mix from one stream to many.
const TENANT_MIX: [usize; 4] = [1, 3, 10, 30];

/// What `fleet-sim drive` takes.
#[derive(clap::Args)]
pub struct DriveArgs {
    /// Control-plane base URLs, comma separated.
    #[arg(long, value_delimiter = ',')]
    api: Vec<String>,
    /// A file of `tenant token` lines.
    #[arg(long)]
    tokens: std::path::PathBuf,
    /// Streams to create and start.
    #[arg(long)]
    streams: usize,
    /// Length of the steady phase.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// API requests per second during the steady phase (0: none).
    #[arg(long, default_value_t = 200)]
    rps: u32,
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis: String,
    #[arg(long, default_value = "")]
    namespace: String,
    /// The process to SIGKILL mid-run (one simulated node).
    #[arg(long)]
    kill_pid: Option<u32>,
    /// The node id that process runs.
    #[arg(long)]
    kill_node: Option<String>,
    /// Nodes serve `/metrics` on `node_base_port + i` for i < node_count.
    #[arg(long, default_value_t = 19100)]
    node_base_port: u16,
    #[arg(long, default_value_t = 0)]
    node_count: u16,
    /// The nodes' metrics token, which their per-stream series (the accounting) need; the
    /// `METRICS_TOKEN` variable when not given (a flag would show it in `ps`).
    #[arg(long)]
    metrics_token: Option<String>,
    /// A shell command run with `start` when the steady phase begins and `end` when it
    /// ends (the script reads the services' counters with it).
    #[arg(long)]
    mark: Option<String>,
}

/// Runs the `--mark` command, if any, with `phase`.
fn mark(args: &DriveArgs, phase: &str) -> anyhow::Result<()> {
    if let Some(cmd) = &args.mark {
        let status = std::process::Command::new("sh")
            .args(["-c", &format!("{cmd} {phase}")])
            .status()
            .context("mark command")?;
        anyhow::ensure!(status.success(), "mark command failed: {status}");
    }
    Ok(())
}

/// Runs the driver on a runtime of its own.
pub fn run(args: DriveArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(drive(args))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn drive(args: DriveArgs) -> anyhow::Result<()> {
    let api = Arc::new(Api::new(args.api.clone())?);
    let tokens = std::fs::read_to_string(&args.tokens).context("tokens file")?;
    let tokens: Vec<String> = tokens
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_owned))
        .collect();
    let targets = setup(&api, &tokens, args.streams).await?;
    let ids: Vec<Uuid> = targets.iter().map(|t| t.stream_id).collect();
    let mut watcher = Watcher::connect(&args.redis, &args.namespace).await?;
    figure("fleet_streams", targets.len(), "streams");

    // The burst: every start at once (64 in flight), then until all are live.
    let t0 = Instant::now();
    let started: Vec<u16> = stream::iter(targets.iter().cloned())
        .map(|t| {
            let api = api.clone();
            async move {
                api.call(Method::POST, &format!("{}/start", t.prefix), &t.token, None)
                    .await
                    .status
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let refused = started.iter().filter(|s| !(200..300).contains(*s)).count();
    let mut live_after = None;
    while t0.elapsed() < Duration::from_secs(120) {
        let seen = watcher.sample(&ids).await?;
        if seen.values().filter(|s| s.live).count() == ids.len() {
            live_after = Some(t0.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    figure("fleet_burst_start_errors", refused, "requests");
    match live_after {
        Some(d) => figure("fleet_burst_all_live_ms", d.as_millis(), "ms"),
        None => figure("fleet_burst_all_live_ms", "timeout", "ms"),
    }

    steady(&args, api, &targets, &mut watcher).await
}

/// Creates `n` streams over the tenants of `tokens` by [`TENANT_MIX`], each with a colour
/// layer and two scenes.
async fn setup(api: &Arc<Api>, tokens: &[String], n: usize) -> anyhow::Result<Vec<Target>> {
    let mut plan = Vec::with_capacity(n);
    let mut t = 0;
    while plan.len() < n {
        let token = tokens
            .get(t)
            .context("not enough tenant tokens for the stream count")?;
        let k = TENANT_MIX[t % TENANT_MIX.len()].min(n - plan.len());
        plan.extend((0..k).map(|i| (token.clone(), format!("s{i}"))));
        t += 1;
    }
    let made: Vec<anyhow::Result<Target>> = stream::iter(plan)
        .map(|(token, name)| {
            let api = api.clone();
            async move { create(&api, token, name).await }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    made.into_iter().collect()
}

async fn create(api: &Api, token: String, name: String) -> anyhow::Result<Target> {
    let s = api
        .call(
            Method::POST,
            "/streams",
            &token,
            Some(json!({"name": name})),
        )
        .await
        .ok("create stream")?;
    let stream_id: Uuid = s["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .context("stream id")?;
    let prefix = format!("/streams/{stream_id}");
    let layer = api
        .call(
            Method::POST,
            &format!("{prefix}/layers"),
            &token,
            Some(json!({"kind": "color", "source": {"color": "#336699"},
                        "size": {"width": 320, "height": 180}})),
        )
        .await
        .ok("create layer")?;
    let mut scene_ids = Vec::new();
    for scene in ["a", "b"] {
        let s = api
            .call(
                Method::POST,
                &format!("{prefix}/scenes"),
                &token,
                Some(json!({"name": scene})),
            )
            .await
            .ok("create scene")?;
        scene_ids.push(s["id"].as_str().unwrap_or_default().to_owned());
    }
    Ok(Target {
        token,
        prefix,
        stream_id,
        layer_id: layer["id"].as_str().unwrap_or_default().to_owned(),
        scene_ids,
    })
}

/// The steady phase: the workload, the watch, the kill, then the final accounting.
async fn steady(
    args: &DriveArgs,
    api: Arc<Api>,
    targets: &[Target],
    watcher: &mut Watcher,
) -> anyhow::Result<()> {
    // A twentieth of the streams (at least one) are stopped and started by the workload;
    // they are left out of move and gap counting.
    let churn = (targets.len() / 20).max(1).min(targets.len());
    let (churned, steady_set) = targets.split_at(churn);
    let steady_ids: Vec<Uuid> = steady_set.iter().map(|t| t.stream_id).collect();
    mark(args, "start")?;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let workload = tokio::spawn(crate::workload::workload(
        api.clone(),
        targets.to_vec(),
        churned.to_vec(),
        args.rps,
        Duration::from_secs(args.seconds),
        tally.clone(),
    ));

    let t0 = Instant::now();
    let kill_at = Duration::from_secs(args.seconds / 3);
    let mut last: HashMap<Uuid, Seen> = watcher.sample(&steady_ids).await?;
    let mut moved: HashSet<Uuid> = HashSet::new();
    let mut gaps: HashSet<Uuid> = HashSet::new();
    let mut ages_ms: Vec<f64> = Vec::new();
    let mut victims: Option<(Instant, HashSet<Uuid>, Duration)> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut n = 0u64;
    while t0.elapsed() < Duration::from_secs(args.seconds) {
        tick.tick().await;
        n += 1;
        if victims.is_none()
            && t0.elapsed() >= kill_at
            && let (Some(pid), Some(node)) = (args.kill_pid, &args.kill_node)
        {
            let on_victim: HashSet<Uuid> = last
                .iter()
                .filter(|(_, s)| &s.node_id == node)
                .map(|(id, _)| *id)
                .collect();
            let status = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status()
                .context("kill")?;
            anyhow::ensure!(status.success(), "kill -KILL {pid} failed");
            figure("fleet_failover_streams", on_victim.len(), "streams");
            victims = Some((Instant::now(), on_victim, Duration::ZERO));
        }
        // The victim's streams every 100 ms until they are all elsewhere; everyone every second.
        let whole = n.is_multiple_of(10);
        if let Some((killed, pending, worst)) = &mut victims
            && !pending.is_empty()
        {
            let ids: Vec<Uuid> = pending.iter().copied().collect();
            let seen = watcher.sample(&ids).await?;
            let victim = args.kill_node.as_deref().unwrap_or_default();
            pending.retain(|id| {
                let back = seen.get(id).is_some_and(|s| s.live && s.node_id != victim);
                if back {
                    *worst = (*worst).max(killed.elapsed());
                }
                !back
            });
        }
        if !whole {
            continue;
        }
        let seen = watcher.sample(&steady_ids).await?;
        let now = render_node::system::unix_ms();
        let victim = args.kill_node.as_deref().unwrap_or_default();
        for id in &steady_ids {
            let was_victims = last.get(id).is_some_and(|s| s.node_id == victim);
            match (last.get(id), seen.get(id)) {
                (Some(a), Some(b)) if a.node_id != b.node_id && !was_victims => {
                    moved.insert(*id);
                }
                (_, Some(b)) if !b.live && !was_victims => {
                    gaps.insert(*id);
                }
                (_, None) if !was_victims => {
                    gaps.insert(*id);
                }
                _ => {}
            }
            // A dead node's last reports age until they expire: freshness is the living's.
            if let Some(b) = seen.get(id).filter(|b| b.node_id != victim) {
                ages_ms.push((now - b.reported_at) as f64);
            }
        }
        for (id, s) in seen {
            // A stream keeps its victim mark until it is live elsewhere.
            if last.get(&id).is_some_and(|l| l.node_id == victim) && !s.live {
                continue;
            }
            last.insert(id, s);
        }
    }
    mark(args, "end")?;
    let _ = workload.await;

    if let Some((_, pending, worst)) = &victims {
        if pending.is_empty() {
            figure("fleet_failover_max_ms", worst.as_millis(), "ms");
        } else {
            figure("fleet_failover_max_ms", "timeout", "ms");
            figure("fleet_failover_not_back", pending.len(), "streams");
        }
    }
    figure("fleet_spurious_moves", moved.len(), "streams");
    figure("fleet_leases_lost", gaps.len(), "streams");
    ages_ms.sort_by(f64::total_cmp);
    figure("fleet_status_age_p99_ms", percentile(&ages_ms, 0.99), "ms");
    let t = std::mem::take(&mut *tally.lock());
    let mut lat = t.latencies_ms;
    lat.sort_by(f64::total_cmp);
    figure("fleet_api_requests", lat.len(), "requests");
    figure("fleet_api_errors", t.errors, "requests");
    figure(
        "fleet_api_p50_ms",
        format!("{:.1}", percentile(&lat, 0.5)),
        "ms",
    );
    figure(
        "fleet_api_p99_ms",
        format!("{:.1}", percentile(&lat, 0.99)),
        "ms",
    );

    let token = args
        .metrics_token
        .clone()
        .or_else(|| std::env::var("METRICS_TOKEN").ok());
    let nodes = crate::account::Nodes {
        base_port: args.node_base_port,
        count: args.node_count,
        metrics_token: token.as_deref(),
    };
    crate::account::account(targets, watcher, &nodes).await
}
