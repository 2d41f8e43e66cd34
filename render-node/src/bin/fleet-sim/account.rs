//! The final accounting: every stream live, and held by exactly one node (from the
//! nodes' own `/metrics`, where each held stream has its series).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::api::Target;
use crate::figure;
use crate::watch::Watcher;

/// Where the nodes serve `/metrics`: node `i` on `base_port + i`, its per-stream series
/// shown to a scraper presenting `metrics_token`.
pub struct Nodes<'a> {
    pub base_port: u16,
    pub count: u16,
    pub metrics_token: Option<&'a str>,
}

/// After the run: every stream live, and held by exactly one node (from the nodes' own
/// `/metrics`, where each held stream has its series).
pub async fn account(
    targets: &[Target],
    watcher: &mut Watcher,
    nodes: &Nodes<'_>,
) -> anyhow::Result<()> {
    let ids: Vec<Uuid> = targets.iter().map(|t| t.stream_id).collect();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut live;
    loop {
        let seen = watcher.sample(&ids).await?;
        live = seen.values().filter(|s| s.live).count();
        if live == ids.len() || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    figure("fleet_streams_live", live, "streams");
    if nodes.count == 0 {
        return Ok(());
    }
    // Held once, counted from every node's `/metrics` until each stream is (or the
    // deadline passes): a stream that just failed over shows on its new node after its
    // first report, and a scrape on a saturated machine may time out and is tried again.
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    let (mut once, mut twice);
    loop {
        let holders = holders(&http, nodes).await;
        once = ids.iter().filter(|id| holders.get(id) == Some(&1)).count();
        twice = holders.values().filter(|n| **n > 1).count();
        if (once == ids.len() && twice == 0) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    figure("fleet_streams_held_once", once, "streams");
    figure("fleet_streams_held_twice", twice, "streams");
    Ok(())
}

/// How many nodes list each stream in their `/metrics` (each held stream has its series
/// there); a node that does not answer lists nothing.
async fn holders(http: &reqwest::Client, nodes: &Nodes<'_>) -> HashMap<Uuid, usize> {
    let mut holders: HashMap<Uuid, usize> = HashMap::new();
    for i in 0..nodes.count {
        let url = format!(
            "http://127.0.0.1:{}/metrics",
            nodes.base_port.saturating_add(i)
        );
        let mut req = http.get(&url).timeout(Duration::from_secs(5));
        if let Some(token) = nodes.metrics_token {
            req = req.bearer_auth(token);
        }
        let r = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("node {i}: /metrics did not answer ({e})");
                continue;
            }
        };
        let text = r.text().await.unwrap_or_default();
        for line in text
            .lines()
            .filter(|l| l.starts_with("stream_frames_total{"))
        {
            if let Some(id) = line
                .split("stream_id=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .and_then(|s| s.parse::<Uuid>().ok())
            {
                *holders.entry(id).or_default() += 1;
            }
        }
    }
    holders
}
