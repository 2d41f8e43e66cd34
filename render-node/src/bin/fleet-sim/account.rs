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
    let (node_base_port, node_count) = (nodes.base_port, nodes.count);
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
    if node_count == 0 {
        return Ok(());
    }
    let http = reqwest::Client::new();
    let mut holders: HashMap<Uuid, usize> = HashMap::new();
    for i in 0..node_count {
        let url = format!(
            "http://127.0.0.1:{}/metrics",
            node_base_port.saturating_add(i)
        );
        let mut req = http.get(&url).timeout(Duration::from_secs(2));
        if let Some(token) = nodes.metrics_token {
            req = req.bearer_auth(token);
        }
        let Ok(r) = req.send().await else {
            continue;
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
    let once = ids.iter().filter(|id| holders.get(id) == Some(&1)).count();
    let twice = holders.values().filter(|n| **n > 1).count();
    figure("fleet_streams_held_once", once, "streams");
    figure("fleet_streams_held_twice", twice, "streams");
    Ok(())
}
