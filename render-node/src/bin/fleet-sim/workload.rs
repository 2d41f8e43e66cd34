//! The API workload of the steady phase: status reads, layer PATCHes, scene activations,
//! and stops and starts, at a fixed rate, each request timed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use reqwest::Method;
use serde_json::json;

use crate::api::{Api, Target};

/// A small generator for the workload's choices (no cryptographic need).
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// What the workload counts.
#[derive(Default)]
pub struct Tally {
    pub latencies_ms: Vec<f64>,
    pub errors: usize,
}

/// The API workload at `rps` for `length`: status reads, layer PATCHes, scene activations,
/// and stop-then-start of the churned streams.
pub async fn workload(
    api: Arc<Api>,
    targets: Vec<Target>,
    churned: Vec<Target>,
    rps: u32,
    length: Duration,
    tally: Arc<Mutex<Tally>>,
) {
    // No workload at all: what the fleet alone costs.
    if rps == 0 {
        return;
    }
    let mut dice = Dice(0x9e37_79b9_7f4a_7c15 ^ u64::from(rps));
    let mut tick = tokio::time::interval(Duration::from_secs(1) / rps.max(1));
    let t0 = Instant::now();
    let mut inflight = tokio::task::JoinSet::new();
    let mut k = 0usize;
    while t0.elapsed() < length {
        tick.tick().await;
        k += 1;
        let roll = dice.below(100);
        let (method, path, token, body) = if roll < 5 {
            let t = &churned[k % churned.len()];
            // Stops on odd rounds of this stream, starts on even ones.
            let verb = if (k / churned.len()).is_multiple_of(2) {
                "stop"
            } else {
                "start"
            };
            (
                Method::POST,
                format!("{}/{verb}", t.prefix),
                t.token.clone(),
                None,
            )
        } else {
            let t = &targets[dice.below(targets.len())];
            match roll {
                5..55 => (
                    Method::GET,
                    format!("{}/status", t.prefix),
                    t.token.clone(),
                    None,
                ),
                55..85 => (
                    Method::PATCH,
                    format!("{}/layers/{}", t.prefix, t.layer_id),
                    t.token.clone(),
                    Some(json!({"position": {"x": dice.below(640), "y": dice.below(360)}})),
                ),
                _ => (
                    Method::POST,
                    format!("{}/scenes/{}/activate", t.prefix, t.scene_ids[k % 2]),
                    t.token.clone(),
                    None,
                ),
            }
        };
        let api = api.clone();
        let tally = tally.clone();
        inflight.spawn(async move {
            let a = api.call(method, &path, &token, body).await;
            let mut t = tally.lock();
            t.latencies_ms.push(a.took.as_secs_f64() * 1000.0);
            if !(200..300).contains(&a.status) {
                t.errors += 1;
            }
        });
        while inflight.try_join_next().is_some() {}
    }
    while inflight.join_next().await.is_some() {}
    // The churned streams end started, so every stream is accounted for below.
    for t in &churned {
        let _ = api
            .call(Method::POST, &format!("{}/start", t.prefix), &t.token, None)
            .await;
    }
}
