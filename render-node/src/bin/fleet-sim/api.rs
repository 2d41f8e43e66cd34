//! The tenant API as the driver calls it: one request, its status, its body and how long
//! it took, spread over the control-plane replicas in turn.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use reqwest::Method;
use serde_json::Value;

/// A stream the driver created: its tenant's token, and its API prefix (`/stream` for the
/// tenant's default stream, `/streams/{id}` for the others).
#[derive(Debug, Clone)]
pub struct Target {
    pub token: String,
    pub prefix: String,
    pub stream_id: uuid::Uuid,
    pub layer_id: String,
    pub scene_ids: Vec<String>,
}

/// One answer.
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub took: Duration,
}

impl Answer {
    /// The answer's `data`, if it succeeded.
    pub fn ok(self, what: &str) -> anyhow::Result<Value> {
        if (200..300).contains(&self.status) {
            Ok(self.body.get("data").cloned().unwrap_or(Value::Null))
        } else {
            anyhow::bail!("{what}: HTTP {} {}", self.status, self.body)
        }
    }
}

/// The control planes, called in turn.
pub struct Api {
    http: reqwest::Client,
    bases: Vec<String>,
    next: AtomicUsize,
}

impl Api {
    pub fn new(bases: Vec<String>) -> anyhow::Result<Self> {
        anyhow::ensure!(!bases.is_empty(), "no control-plane URL");
        Ok(Api {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .pool_max_idle_per_host(256)
                .build()
                .context("http client")?,
            bases,
            next: AtomicUsize::new(0),
        })
    }

    /// Calls `method path` as the holder of `token`; a transport failure is status 0.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Answer {
        let base = &self.bases[self.next.fetch_add(1, Ordering::Relaxed) % self.bases.len()];
        let mut req = self
            .http
            .request(method, format!("{base}{path}"))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let t0 = Instant::now();
        let (status, body) = match req.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.json().await.unwrap_or(Value::Null))
            }
            Err(e) => (0, Value::String(e.to_string())),
        };
        Answer {
            status,
            body,
            took: t0.elapsed(),
        }
    }
}
