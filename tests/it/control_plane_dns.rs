//! Control-plane reachability through one DNS name, as nodes see the control plane in AWS (a
//! Cloud Map name with one A record per task): two `control-plane` processes on the same port
//! of 127.0.0.1 and 127.0.0.2, the name `cp.sm.test` resolving to both through /etc/hosts, and
//! the render node given only `http://cp.sm.test:PORT`. The replica behind the name's first
//! address is SIGKILLed under a live stream: the node must reach the other address in time
//! for every renewal, so its stream stays on air, on its node and under the same lease.
//!
//! The name is real resolution (glibc, /etc/hosts, `multi on` in /etc/host.conf), not the
//! client's fixed-address override. The setup appends the two entries when they are missing
//! (idempotent; CI runs as root) and the test skips, saying why, where it cannot.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use stream_manager_tests::control_plane_process::ControlPlaneProcess;
use stream_manager_tests::nodes::{Receiver, free_port, spawn_node_with_env};
use stream_manager_tests::spawn_app_with_private_urls;

use crate::control_plane_failover::longest_gap_around;

/// The control plane's name for the node: one A record per replica.
const NAME: &str = "cp.sm.test";
const ADDRESSES: [&str; 2] = ["127.0.0.1", "127.0.0.2"];
const HOSTS: &str = "/etc/hosts";

/// Makes `NAME` resolve to every address of `ADDRESSES` (appending the missing /etc/hosts
/// lines), then resolves it: the addresses in the resolver's order, or why it cannot.
async fn name_with_every_address(port: u16) -> Result<Vec<SocketAddr>, String> {
    let hosts = std::fs::read_to_string(HOSTS).map_err(|e| format!("cannot read {HOSTS}: {e}"))?;
    let has = |ip: &str| {
        hosts.lines().any(|line| {
            let mut words = line.split('#').next().unwrap_or("").split_whitespace();
            words.next() == Some(ip) && words.any(|w| w == NAME)
        })
    };
    let missing: String = ADDRESSES
        .iter()
        .filter(|ip| !has(ip))
        .map(|ip| format!("{ip} {NAME}\n"))
        .collect();
    if !missing.is_empty() {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(HOSTS)
            .map_err(|e| format!("cannot add {NAME} to {HOSTS} (run as root): {e}"))?;
        let sep = if hosts.ends_with('\n') || hosts.is_empty() {
            ""
        } else {
            "\n"
        };
        file.write_all(format!("{sep}{missing}").as_bytes())
            .map_err(|e| format!("cannot write {HOSTS}: {e}"))?;
    }
    let resolved: Vec<SocketAddr> = tokio::net::lookup_host((NAME, port))
        .await
        .map_err(|e| format!("{NAME} does not resolve: {e}"))?
        .filter(SocketAddr::is_ipv4)
        .collect();
    let want: Vec<IpAddr> = ADDRESSES.iter().filter_map(|a| a.parse().ok()).collect();
    if want
        .iter()
        .any(|ip| !resolved.iter().any(|a| a.ip() == *ip))
    {
        return Err(format!(
            "{NAME} resolves to {resolved:?}, not to every one of {ADDRESSES:?} (is `multi on` missing from /etc/host.conf?)"
        ));
    }
    Ok(resolved)
}

/// Established TCP connections to `to` seen in /proc/net/tcp (None when it cannot be read):
/// which replica the node is connected to.
fn connections_to(to: SocketAddr) -> Option<usize> {
    let IpAddr::V4(ip) = to.ip() else { return None };
    // /proc/net/tcp writes the address in host byte order and the port big-endian, in hex.
    let want = format!("{:08X}:{:04X}", u32::from_ne_bytes(ip.octets()), to.port());
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    Some(
        table
            .lines()
            .skip(1)
            .filter(|line| {
                let cols: Vec<&str> = line.split_whitespace().collect();
                cols.get(2) == Some(&want.as_str()) && cols.get(3) == Some(&"01")
            })
            .count(),
    )
}

#[tokio::test]
async fn a_killed_control_plane_task_behind_one_dns_name_costs_the_node_no_renewal() {
    let port = free_port();
    let addrs = match name_with_every_address(port).await {
        Ok(addrs) => addrs,
        Err(why) => {
            eprintln!("SKIP a_killed_control_plane_task_behind_one_dns_name: {why}");
            return;
        }
    };
    let app = spawn_app_with_private_urls(true).await;
    // One replica per address, on the same port: the node knows only the name.
    let mut doomed = ControlPlaneProcess::start_at(&app, &addrs[0].ip().to_string(), port).await;
    let survivor = ControlPlaneProcess::start_at(&app, &addrs[1].ip().to_string(), port).await;
    let receiver = Arc::new(Receiver::start("cpdns", 320, 180));
    app.set_test_output("320x180", "400k", &[&receiver.url])
        .await;
    let layer = app
        .add_layer(json!({"kind": "color", "source": {"color": "#000080"}}))
        .await;

    let url = format!("http://{NAME}:{port}");
    let node = spawn_node_with_env(
        &app,
        "cpdns-node",
        1,
        &[("CONTROL_PLANE_URL", url.as_str())],
    );
    app.post("/stream/start", "acme", json!({}))
        .await
        .expect(200);
    let t0 = Instant::now();
    while receiver.bytes() == 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(25),
            "no frame received:\n{}",
            node.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let status_before = app.get("/stream/status", "acme").await.data().clone();
    assert_eq!(status_before["state"], "live", "{status_before}");
    assert_eq!(status_before["nodeId"], node.id.as_str());
    let stream_id = status_before["streamId"]
        .as_str()
        .expect("a stream id")
        .to_owned();
    let epoch_before = app.lease_epoch(&stream_id).await;
    // The node connects to the name's first address while it answers.
    let (to_doomed, to_survivor) = (connections_to(addrs[0]), connections_to(addrs[1]));
    eprintln!(
        "{NAME} resolves to {addrs:?}; established connections before the kill: {to_doomed:?} to the first, {to_survivor:?} to the second"
    );
    if let (Some(d), Some(s)) = (to_doomed, to_survivor) {
        assert!(
            d > 0 && s == 0,
            "the node should talk to the first address {} only: {d} connections to it, {s} to {}",
            addrs[0],
            addrs[1]
        );
    }

    // Kill the replica behind the first address and watch the output across it.
    let gap = longest_gap_around(&receiver, || doomed.kill()).await;

    let log = node.log_text();
    assert!(
        !log.contains("cannot renew leases") && !log.contains("lease lost"),
        "the node fenced or lost its stream:\n{log}"
    );
    let after = app.get("/stream/status", "acme").await.data().clone();
    assert_eq!(after["state"], "live", "{after}");
    assert_eq!(
        after["nodeId"],
        node.id.as_str(),
        "the stream moved: {after}"
    );
    let epoch_after = app.lease_epoch(&stream_id).await;
    assert_eq!(
        epoch_after, epoch_before,
        "the lease was lost and taken again: the stream was restarted"
    );
    let to_survivor = connections_to(addrs[1]);
    eprintln!("established connections to the second address after the kill: {to_survivor:?}");
    if let Some(s) = to_survivor {
        assert!(
            s > 0,
            "the node never connected to the second address {}",
            addrs[1]
        );
    }
    assert!(
        gap < Duration::from_millis(1500),
        "the output stalled for {gap:?} around the kill"
    );

    // A change still reaches the node, through the replica behind the second address.
    let patched = reqwest::Client::new()
        .patch(format!("{}/stream/layers/{layer}", survivor.base))
        .bearer_auth(app.token("acme"))
        .json(&json!({"opacity": 0.5}))
        .send()
        .await
        .unwrap();
    assert!(patched.status().is_success(), "{}", patched.status());
    node.wait_for_update(
        status_before["version"].as_i64().unwrap() + 1,
        Duration::from_secs(10),
        "a change through the surviving replica never reached the node",
    )
    .await;
    eprintln!(
        "| SIGKILL of the control-plane replica behind the first address of {NAME} | longest output gap {:.0} ms; stream kept its node and lease |",
        gap.as_secs_f64() * 1000.0
    );
    eprintln!(
        "FIGURE cp_dns_kill_output_gap={:.0} ms",
        gap.as_secs_f64() * 1000.0
    );
    app.post("/stream/stop", "acme", json!({}))
        .await
        .expect(200);
}
