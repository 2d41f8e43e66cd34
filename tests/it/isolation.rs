//! `STREAM_ISOLATION=process`: each stream in its own process of the node. A stream whose
//! process is killed (SIGKILL, SIGSEGV) comes back on the same node within moments, its
//! output timestamps going on, while the node's other stream does not miss a frame; a
//! stream over its memory budget fails with a clear reason and the other goes on.
//! Real control plane, node, child processes and RTMP receivers logging every packet.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stream_manager_tests::nodes::{NodeProcess, spawn_node_with_env};
use stream_manager_tests::packet_log::{PacketLog, Track};
use stream_manager_tests::{TestApp, spawn_app_with_private_urls};

async fn status(app: &TestApp, tenant: &str) -> Value {
    app.get("/stream/status", tenant).await.data().clone()
}

async fn wait_for(
    app: &TestApp,
    tenant: &str,
    timeout: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let s = status(app, tenant).await;
        if pred(&s) || Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_packets(log: &PacketLog, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while log.count() == 0 {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    true
}

/// The pid of the node's process running `stream_id`, if there is one.
fn stream_process(node: &NodeProcess, stream_id: &str) -> Option<u32> {
    let node_pid = node.child.id();
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let ppid: u32 = stat
            .rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).ok()?;
        (ppid == node_pid && cmdline.contains("stream-child") && cmdline.contains(stream_id))
            .then_some(pid)
    })
}

/// The largest step between consecutive video pts from packet `from` on, in ms.
fn largest_video_step(log: &PacketLog, from: usize) -> f64 {
    let pts: Vec<f64> = log.packets()[from.saturating_sub(1)..]
        .iter()
        .filter(|p| p.track == Track::Video)
        .map(|p| p.pts_ms)
        .collect();
    pts.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max)
}

/// Two tenants' streams live on one process-isolating node, each at its own receiver.
async fn two_streams(
    app: &TestApp,
    env: &[(&str, &str)],
    globex_resolution: &str,
) -> (NodeProcess, PacketLog, PacketLog) {
    let a = PacketLog::start("iso-a");
    let b = PacketLog::start("iso-b");
    app.navy_stream_for("acme", "320x180", &a.url).await;
    app.navy_stream_for("globex", globex_resolution, &b.url)
        .await;
    let mut env = env.to_vec();
    env.push(("STREAM_ISOLATION", "process"));
    let node = spawn_node_with_env(app, "iso-node", 2, &env);
    for tenant in ["acme", "globex"] {
        app.post("/stream/start", tenant, json!({}))
            .await
            .expect(200);
    }
    (node, a, b)
}

#[tokio::test]
async fn a_killed_stream_process_is_back_on_the_same_node_and_the_other_stream_misses_no_frame() {
    let app = spawn_app_with_private_urls(true).await;
    let (node, mut a, b) = two_streams(&app, &[], "320x180").await;
    for tenant in ["acme", "globex"] {
        let s = wait_for(&app, tenant, Duration::from_secs(30), |s| {
            s["state"] == "live"
        })
        .await;
        assert_eq!(
            s["state"],
            "live",
            "{tenant} never went live: {s}\n{}",
            node.log_text()
        );
    }
    assert!(
        wait_packets(&a, Duration::from_secs(20)).await,
        "nothing at acme's receiver"
    );
    assert!(
        wait_packets(&b, Duration::from_secs(20)).await,
        "nothing at globex's receiver"
    );
    let acme_id = status(&app, "acme").await["streamId"]
        .as_str()
        .expect("a stream id")
        .to_owned();
    // Both streams warm: the other one's frames from here on are watched.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let b_from = b.count();

    for (round, sig) in ["KILL", "SEGV"].into_iter().enumerate() {
        let pid = stream_process(&node, &acme_id).expect("acme's stream has its own process");
        let last_pts = a
            .packets()
            .iter()
            .rev()
            .find(|p| p.track == Track::Video)
            .map_or(0.0, |p| p.pts_ms);
        let t0 = Instant::now();
        // Rust's runtime catches a first SIGSEGV (for its stack-overflow message) and puts
        // the default action back: a real fault faults again at once and dies of it; a
        // signal sent from outside is sent again, as the fault would recur.
        while std::path::Path::new(&format!("/proc/{pid}/cmdline")).exists()
            && t0.elapsed() < Duration::from_secs(2)
        {
            std::process::Command::new("kill")
                .args([format!("-{sig}"), pid.to_string()])
                .status()
                .expect("kill runs");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The receiver took its one publish; it listens again for the restarted process's.
        a = a.relisten();
        let restarted = loop {
            if let Some(new) = stream_process(&node, &acme_id).filter(|p| *p != pid)
                && node.log_text().matches("stream process restarted").count() > round
            {
                break Some((new, t0.elapsed()));
            }
            if t0.elapsed() > Duration::from_secs(10) {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let (new_pid, restart_time) =
            restarted.unwrap_or_else(|| panic!("no restart after SIG{sig}:\n{}", node.log_text()));
        assert!(
            wait_packets(&a, Duration::from_secs(10)).await,
            "nothing after SIG{sig}"
        );
        let at_receiver = t0.elapsed();
        eprintln!(
            "FIGURE isolation_recovery_sig{}_ms={} ms (process {pid} -> {new_pid} streaming again; first packet at the receiver after {} ms)",
            sig.to_lowercase(),
            restart_time.as_millis(),
            at_receiver.as_millis()
        );
        assert!(
            restart_time < Duration::from_secs(10),
            "took {restart_time:?}"
        );
        // Output time went on from where the killed process was, not from zero.
        let first_pts = a
            .packets()
            .iter()
            .find(|p| p.track == Track::Video)
            .map_or(0.0, |p| p.pts_ms);
        eprintln!("acme's video pts: {last_pts} ms before SIG{sig}, {first_pts} ms after");
        assert!(
            first_pts >= last_pts,
            "timestamps went back: {last_pts} -> {first_pts}"
        );
        let s = status(&app, "acme").await;
        assert_eq!(
            (s["state"].as_str(), s["nodeId"].as_str()),
            (Some("live"), Some("iso-node")),
            "{s}"
        );
    }

    tokio::time::sleep(Duration::from_secs(1)).await;
    let step = largest_video_step(&b, b_from);
    eprintln!(
        "globex's receiver meanwhile: largest video pts step {step} ms, longest wall-clock gap {:?}",
        b.longest_video_gap(b_from)
    );
    assert!(b.count() > b_from + 60, "globex stopped arriving");
    assert!(
        step < 1.5 * 1000.0 / 30.0,
        "globex missed frames: a {step} ms step"
    );
    for tenant in ["acme", "globex"] {
        app.post("/stream/stop", tenant, json!({}))
            .await
            .expect(200);
    }
    // Stopped streams leave no process behind.
    let t0 = Instant::now();
    while stream_process(&node, &acme_id).is_some() && t0.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        stream_process(&node, &acme_id).is_none(),
        "a stopped stream's process lives on"
    );
}

#[tokio::test]
async fn a_stream_over_its_memory_budget_fails_with_the_reason_and_the_other_goes_on() {
    let app = spawn_app_with_private_urls(true).await;
    // A 320x180 stream's process takes about 71 MB here, a 1920x1080 one about 112 MB.
    let (node, a, _b) = two_streams(
        &app,
        &[("STREAM_MEMORY_MAX_BYTES", "92000000")],
        "1920x1080",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    for tenant in ["acme", "globex"] {
        let id = status(&app, tenant).await["streamId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let rss = stream_process(&node, &id).map_or(0, stream_manager_tests::proc_stats::rss_kib);
        eprintln!("{tenant}'s stream process: {} MB resident", rss / 1024);
    }
    let failed = wait_for(&app, "globex", Duration::from_secs(20), |s| {
        s["state"] == "failed"
    })
    .await;
    assert_eq!(failed["state"], "failed", "{failed}\n{}", node.log_text());
    let reason = failed["reason"].as_str().unwrap_or_default();
    eprintln!("globex failed: {reason}");
    assert!(reason.contains("memory budget"), "{reason}");

    let live = wait_for(&app, "acme", Duration::from_secs(30), |s| {
        s["state"] == "live"
    })
    .await;
    assert_eq!(live["state"], "live", "{live}");
    assert!(
        wait_packets(&a, Duration::from_secs(20)).await,
        "nothing at acme's receiver"
    );
    let from = a.count();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(a.count() > from + 60, "acme stopped arriving");
    let step = largest_video_step(&a, from);
    assert!(
        step < 1.5 * 1000.0 / 30.0,
        "acme missed frames: a {step} ms step"
    );
    app.post("/stream/stop", "acme", json!({}))
        .await
        .expect(200);
}
