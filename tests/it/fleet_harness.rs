//! The fleet load harness in small: `fleet-sim` runs 20 simulated nodes (one of them a
//! process of its own, SIGKILLed mid-run) against two control-plane replicas, 200 streams
//! over a tenant mix, 30 s of API workload; every stream must end live on exactly one node
//! and the dead node's streams must all come back elsewhere. The harness's timings are
//! printed, not asserted.
//!
//! The replicas are `control-plane` processes, as deployed, each with the pool size the
//! deployment uses: replicas inside the test process share its two runtime threads with
//! the test and a five-connection pool, and on a loaded two-core machine their renewal
//! answers came late enough for nodes to fence themselves.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use stream_manager_tests::control_plane_process::ControlPlaneProcess;
use stream_manager_tests::nodes::{free_port, workspace_bin};
use stream_manager_tests::spawn_app;
use stream_manager_tests::test_app::NODE_SECRET;

const NODES: u16 = 20;
const PER_NODE: usize = 10;
/// The nodes' metrics token: the accounting reads each node's per-stream series.
const METRICS_TOKEN: &str = "fleet-harness-metrics-token";

/// A harness process, killed when dropped.
struct Harness(Child);

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `fleet-sim nodes` for nodes `first..first + count`, logging to a file of the test's.
fn nodes(
    app: &stream_manager_tests::TestApp,
    cps: &str,
    first: u16,
    count: u16,
    port: u16,
) -> Harness {
    let log = std::env::temp_dir().join(format!("{}fleet-sim-{first}.log", app.namespace));
    let out = std::fs::File::create(&log).unwrap();
    let err = out.try_clone().unwrap();
    let child = Command::new(workspace_bin("fleet-sim"))
        .args([
            "nodes",
            "--count",
            &count.to_string(),
            "--first",
            &first.to_string(),
        ])
        .args(["--capacity", &(PER_NODE + 4).to_string()])
        .args(["--base-port", &port.to_string()])
        .env("AMQP_URL", &app.services.amqp_url)
        .env("REDIS_URL", &app.services.redis_url)
        .env("CONTROL_PLANE_URL", cps)
        .env("NODE_SECRET", NODE_SECRET)
        .env("SM_NAMESPACE", &app.namespace)
        .env("INGEST_ADDR", "off")
        .env("METRICS_TOKEN", METRICS_TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .unwrap();
    Harness(child)
}

/// The pool size of a deployed control plane (the default of `DB_MAX_CONNECTIONS`).
const POOL: &str = "16";

#[tokio::test]
async fn fleet_harness_accounts_for_every_stream_after_a_node_dies() {
    let mut app = spawn_app().await;
    // A load harness, not a quota test: the tenant mix runs up to 30 streams per tenant
    // (the default quota is 10) and its workload outruns one tenant's request rate.
    let pool = [
        ("DB_MAX_CONNECTIONS", POOL.to_owned()),
        ("QUOTA_RUNNING_STREAMS", "1000".to_owned()),
        ("QUOTA_STREAMS", "1000".to_owned()),
        ("QUOTA_REQUESTS_PER_SECOND", "0".to_owned()),
    ];
    let first = app.serve_from_process_with("warn", &pool).await;
    let second = ControlPlaneProcess::start_with_env(&app, free_port(), "warn", &pool).await;
    let cps = format!("{},{}", first.base, second.base);
    // Twenty consecutive ports from a free one; a taken one only loses that node's /metrics,
    // which the accounting below would report.
    let port = free_port().min(u16::MAX - NODES);
    let victim = nodes(&app, &cps, 0, 1, port);
    let _others = nodes(&app, &cps, 1, NODES - 1, port);

    let streams = usize::from(NODES) * PER_NODE;
    let tokens = std::env::temp_dir().join(format!("{}tokens", app.namespace));
    let lines: Vec<String> = (0..streams / 11 + 8)
        .map(|i| format!("t{i} {}", app.token(&format!("t{i}"))))
        .collect();
    std::fs::write(&tokens, lines.join("\n")).unwrap();

    // Its figures go to a file, so a run cut short still shows how far it got.
    let figures_file = std::env::temp_dir().join(format!("{}fleet-drive.out", app.namespace));
    let drive = tokio::process::Command::new(workspace_bin("fleet-sim"))
        .args(["drive", "--api", &cps, "--tokens"])
        .arg(&tokens)
        .args([
            "--streams",
            &streams.to_string(),
            "--seconds",
            "30",
            "--rps",
            "50",
        ])
        .args([
            "--redis",
            &app.services.redis_url,
            "--namespace",
            &app.namespace,
        ])
        .args([
            "--kill-pid",
            &victim.0.id().to_string(),
            "--kill-node",
            "sim-0",
        ])
        .args([
            "--node-count",
            &NODES.to_string(),
            "--node-base-port",
            &port.to_string(),
        ])
        .env("METRICS_TOKEN", METRICS_TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::from(std::fs::File::create(&figures_file).unwrap()))
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .status();
    let status = tokio::time::timeout(Duration::from_secs(150), drive).await;
    let text = std::fs::read_to_string(&figures_file).unwrap_or_default();
    eprintln!("{text}");
    let status = status
        .unwrap_or_else(|_| panic!("the driver did not finish; so far:\n{text}"))
        .unwrap();
    assert!(status.success(), "driver failed: {text}");
    let figures: HashMap<&str, &str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("FIGURE "))
        .filter_map(|l| l.split_whitespace().next()?.split_once('='))
        .collect();
    let count = |name: &str| figures.get(name).and_then(|v| v.parse::<usize>().ok());
    assert_eq!(count("fleet_streams"), Some(streams), "{text}");
    assert_eq!(count("fleet_streams_live"), Some(streams), "{text}");
    assert_eq!(count("fleet_streams_held_once"), Some(streams), "{text}");
    assert_eq!(count("fleet_streams_held_twice"), Some(0), "{text}");
    assert!(
        count("fleet_failover_streams").is_some_and(|n| n > 0),
        "the killed node held no stream: {text}"
    );
    assert!(
        count("fleet_failover_max_ms").is_some(),
        "the dead node's streams did not all come back: {text}"
    );
    drop(victim);
}
