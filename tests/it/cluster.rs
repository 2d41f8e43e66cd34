//! Clustered engines, as users deploy them: a control plane and simulated render nodes
//! (`fleet-sim`: the real fleet code on the simulated engine) on the 3-node RabbitMQ cluster
//! and the 3-master Redis Cluster of `scripts/clusters.sh`, selected only by their URLs
//! (`AMQP_URL` a comma list of nodes, `REDIS_URL=redis+cluster://…`). Under a steady stream
//! of layer PATCHes the RabbitMQ node every client connected to first is SIGKILLed: while it
//! is down every PATCH must reach its node through the other two. It is started again, then
//! a Redis master is SIGKILLed (the cluster has no replicas, so its slots are down) and
//! started again, as an orchestrator would. No stream may move or stop, every PATCH must be
//! answered and reach its node, and the fleet must take new starts and deliver events
//! again by itself.
//!
//! It starts and kills those clusters (ports 5701-5703 and 7001-7003, no one else's), so it
//! is ignored in the parallel suite and run alone by `scripts/test.sh` (`cargo nextest run
//! --run-ignored only -E 'test(cluster_)' -j 1`).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::node_api::report_key;
use shared::status::LiveReport;
use stream_manager_tests::nodes::{free_port, workspace_bin};
use stream_manager_tests::test_app::NODE_SECRET;
use stream_manager_tests::ws;
use stream_manager_tests::{TestApp, spawn_app_with};

const TENANTS: [&str; 3] = ["c1", "c2", "c3"];
const STREAMS_PER_TENANT: usize = 3;
const NODES: u16 = 3;
const CAPACITY: usize = 6;

/// Runs a script line of the repository and returns its standard output.
async fn sh(cmd: &str) -> String {
    let out = tokio::process::Command::new("bash")
        .args(["-c", cmd])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .await
        .expect("bash runs");
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `scripts/clusters.sh start`: the `(AMQP_URL, REDIS_URL)` it prints.
async fn start_clusters() -> (String, String) {
    let out = sh("bash scripts/clusters.sh start").await;
    let var = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("export {name}=")))
            .unwrap_or_else(|| panic!("no {name} in {out}"))
            .to_owned()
    };
    (var("CLUSTER_AMQP_URL"), var("CLUSTER_REDIS_URL"))
}

/// SIGKILLs the first RabbitMQ node (every client's first choice).
async fn kill_a_broker_node() {
    sh("kill -9 \"$(rabbitmqctl -n smq1@localhost eval 'os:getpid().' | tr -dc 0-9)\"").await;
}

/// SIGKILLs one Redis master.
async fn kill_a_redis_master() {
    sh("kill -9 \"$(redis-cli -p 7002 info server | sed -n 's/^process_id://p' | tr -d '\\r')\"")
        .await;
}

/// Waits until every stream's node reports the stream's latest version (commands travel the
/// quorum node queues); how long that took.
async fn commands_reached_the_nodes(
    app: &TestApp,
    streams: &[Stream],
    within: Duration,
) -> Duration {
    let t0 = Instant::now();
    for s in streams {
        loop {
            let want = status(app, s).await["version"].as_i64().unwrap_or(-1);
            let got = report(app, s).await.map(|r| r.version);
            if got == Some(want) {
                break;
            }
            assert!(
                t0.elapsed() < within,
                "stream {} on version {got:?}, the API's is {want}",
                s.id
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    t0.elapsed()
}

/// The simulated nodes, SIGKILLed when dropped.
struct Fleet(Child);

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn fleet(app: &TestApp, amqp: &str, redis: &str, port: u16) -> Fleet {
    let log = std::env::temp_dir().join(format!("{}cluster-fleet.log", app.namespace));
    let out = std::fs::File::create(&log).expect("fleet log");
    let err = out.try_clone().expect("fleet log");
    eprintln!("fleet-sim log: {}", log.display());
    let child = Command::new(workspace_bin("fleet-sim"))
        .args(["nodes", "--count", &NODES.to_string()])
        .args(["--capacity", &CAPACITY.to_string()])
        .args(["--base-port", &port.to_string()])
        .env("AMQP_URL", amqp)
        .env("REDIS_URL", redis)
        .env("CONTROL_PLANE_URL", &app.base)
        .env("NODE_SECRET", NODE_SECRET)
        .env("SM_NAMESPACE", &app.namespace)
        .env("INGEST_ADDR", "off")
        .env("RUST_LOG", "info")
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("fleet-sim starts");
    Fleet(child)
}

/// One stream of the test: its tenant, id and the layer the PATCHes move.
#[derive(Clone)]
struct Stream {
    tenant: &'static str,
    id: String,
    layer: String,
}

async fn create_and_start(app: &TestApp, tenant: &'static str, name: &str) -> Stream {
    let created = app.post("/streams", tenant, json!({ "name": name })).await;
    created.expect(201);
    let id = created.data()["id"].as_str().expect("an id").to_owned();
    let layer = app
        .post(
            &format!("/streams/{id}/layers"),
            tenant,
            json!({"kind": "color", "source": {"color": "#336699"}}),
        )
        .await;
    layer.expect(201);
    let layer = layer.data()["id"].as_str().expect("a layer id").to_owned();
    app.post(&format!("/streams/{id}/start"), tenant, json!({}))
        .await
        .expect(200);
    Stream { tenant, id, layer }
}

async fn status(app: &TestApp, s: &Stream) -> Value {
    app.get(&format!("/streams/{}/status", s.id), s.tenant)
        .await
        .data()
        .clone()
}

/// The report the stream's node last wrote to the Redis Cluster.
async fn report(app: &TestApp, s: &Stream) -> Option<LiveReport> {
    let mut redis = app.state.redis.clone();
    let key = report_key(&app.namespace, s.id.parse().expect("a uuid"));
    let raw: Option<String> = redis::AsyncCommands::get(&mut redis, key).await.ok()?;
    serde_json::from_str(&raw?).ok()
}

/// Waits until every stream is live; their nodes, in order.
async fn all_live(app: &TestApp, streams: &[Stream], within: Duration) -> Vec<String> {
    let t0 = Instant::now();
    loop {
        let mut nodes = Vec::new();
        for s in streams {
            let st = status(app, s).await;
            if st["state"] != "live" {
                break;
            }
            nodes.push(st["nodeId"].as_str().unwrap_or_default().to_owned());
        }
        if nodes.len() == streams.len() {
            return nodes;
        }
        assert!(t0.elapsed() < within, "not all live within {within:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// PATCHes every stream's layer in turn until `stop` (none while `pause`); counts answers
/// and failures.
fn patch_loop(
    app: Arc<TestApp>,
    streams: Vec<Stream>,
    (stop, pause): (Arc<AtomicBool>, Arc<AtomicBool>),
    sent: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut round = 0u32;
        while !stop.load(Ordering::Relaxed) {
            if pause.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            round += 1;
            for s in &streams {
                let body = json!({"position": {"x": round % 600, "y": 10}});
                let answer = app
                    .patch(
                        &format!("/streams/{}/layers/{}", s.id, s.layer),
                        s.tenant,
                        body,
                    )
                    .await;
                sent.fetch_add(1, Ordering::Relaxed);
                if answer.status.as_u16() != 200 {
                    eprintln!(
                        "PATCH failed during the outage: {} {}",
                        answer.status, answer.body
                    );
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts and kills the clusters of scripts/clusters.sh: run alone by scripts/test.sh"]
async fn cluster_engines_lose_no_stream_and_no_command_when_a_node_of_each_dies() {
    let (amqp, redis) = start_clusters().await;
    let app = {
        let (amqp, redis) = (amqp.clone(), redis.clone());
        Arc::new(
            spawn_app_with(move |c| {
                c.amqp_url = amqp.into();
                c.redis_url = redis.into();
            })
            .await,
        )
    };
    let port = free_port().min(u16::MAX - NODES);
    let _fleet = fleet(&app, &amqp, &redis, port);
    let mut streams = Vec::new();
    for tenant in TENANTS {
        for i in 0..STREAMS_PER_TENANT {
            streams.push(create_and_start(&app, tenant, &format!("s{i}")).await);
        }
    }
    let before = all_live(&app, &streams, Duration::from_secs(60)).await;
    let mut epochs = Vec::new();
    for s in &streams {
        epochs.push(app.lease_epoch(&s.id).await);
    }

    let (stop, pause, sent, failed) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let patches = patch_loop(
        app.clone(),
        streams.clone(),
        (stop.clone(), pause.clone()),
        sent.clone(),
        failed.clone(),
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    kill_a_broker_node().await;
    let killed = Instant::now();
    // While the node is down: PATCHes go on, and reach the nodes through the other two.
    tokio::time::sleep(Duration::from_secs(8)).await;
    // Paused so the versions stand still while they are compared.
    pause.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let caught_up = commands_reached_the_nodes(&app, &streams, Duration::from_secs(20)).await;
    pause.store(false, Ordering::Relaxed);
    eprintln!(
        "FIGURE cluster_commands_caught_up_with_a_broker_node_down_ms={} ms",
        caught_up.as_millis()
    );
    start_clusters().await;
    eprintln!(
        "FIGURE cluster_broker_node_down_ms={} ms",
        killed.elapsed().as_millis()
    );
    kill_a_redis_master().await;
    let killed = Instant::now();
    tokio::time::sleep(Duration::from_secs(8)).await;
    start_clusters().await;
    eprintln!(
        "FIGURE cluster_redis_master_down_ms={} ms",
        killed.elapsed().as_millis()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    patches.await.expect("the PATCH loop");

    // Every PATCH answered, and every one reached its node.
    assert_eq!(failed.load(Ordering::Relaxed), 0, "PATCHes failed");
    let caught_up = commands_reached_the_nodes(&app, &streams, Duration::from_secs(30)).await;
    eprintln!(
        "FIGURE cluster_commands_caught_up_ms={} ms",
        caught_up.as_millis()
    );
    let mut db = app.db().await;
    let unpublished: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(&mut db)
            .await
            .expect("outbox count");
    assert_eq!(unpublished, 0, "commands left in the outbox");

    // No stream lost or moved: the same node holds each, on the same lease.
    let after = all_live(&app, &streams, Duration::from_secs(10)).await;
    assert_eq!(after, before, "streams moved");
    for (s, epoch) in streams.iter().zip(&epochs) {
        assert_eq!(
            app.lease_epoch(&s.id).await,
            *epoch,
            "stream {} was re-dispatched",
            s.id
        );
    }

    // Back to normal by itself: a new start is taken from the jobs queue, and a change's
    // event reaches a WebSocket through the Redis Cluster.
    let late = create_and_start(&app, "c1", "late").await;
    all_live(&app, std::slice::from_ref(&late), Duration::from_secs(30)).await;
    let mut ws = ws::connect(&app, &format!("/streams/{}/events", late.id), "c1", false)
        .await
        .expect("a websocket");
    app.patch(
        &format!("/streams/{}/layers/{}", late.id, late.layer),
        "c1",
        json!({"opacity": 0.5}),
    )
    .await
    .expect(200);
    assert!(
        ws::next_of(&mut ws, "layer:update", Duration::from_secs(10))
            .await
            .is_some(),
        "no event through the Redis Cluster after the outage"
    );
    eprintln!(
        "FIGURE cluster_patches_during_outage={} requests",
        sent.load(Ordering::Relaxed)
    );
    app.cleanup_broker_at(&amqp).await;
}
