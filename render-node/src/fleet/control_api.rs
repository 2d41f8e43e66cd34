//! The control plane's internal API, as the node calls it.
//!
//! The node may know several control-plane replicas (any of them can serve any call: they
//! share the database). It keeps talking to the one that last answered and moves to the next
//! when a call cannot reach it, so a replica that dies costs no lease renewal.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use shared::node_api::{
    Grant, Held, IngestAuthorize, IngestCheck, IngestGrant, IngestRevoked, LeaseRef, LeaseState,
    NODE_ID_HEADER, Release, Renewal,
};
use shared::spec::StreamSpec;
use uuid::Uuid;

/// A call that did not get an answer we can use.
#[derive(Debug, thiserror::Error)]
pub enum ApiCallError {
    /// No control plane answered (down, restarting, or we are cut off from it).
    #[error("control plane unreachable: {0}")]
    Unreachable(String),
    /// A control plane answered but could not do it (its database is away: 5xx).
    #[error("control plane unavailable: {0}")]
    Unavailable(String),
}

/// A client for `/internal/...` on one of several replicas.
#[derive(Clone)]
pub struct ControlApi {
    http: reqwest::Client,
    bases: Arc<[String]>,
    /// Index into `bases` of the replica calls go to first.
    current: Arc<AtomicUsize>,
    secret: String,
    node_id: String,
}

/// How one attempt on one replica failed.
enum Failure {
    /// The connection was refused or could not be made: the request never left.
    NotSent(String),
    /// Sent, but no answer came back (timeout, reset): it may have been applied.
    Lost(String),
    /// The replica answered with an error.
    Answered(ApiCallError),
}

/// An error with its chain of causes (reqwest's own message is often just "builder error" or
/// "error sending request").
fn with_causes(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// The `{success, data}` envelope.
#[derive(serde::Deserialize)]
struct Envelope<T> {
    data: T,
}

impl ControlApi {
    /// A client for the control-plane replicas at `bases` (at least one).
    pub fn new(bases: &[String], secret: &str, node_id: &str) -> Result<Self, ApiCallError> {
        if bases.is_empty() {
            return Err(ApiCallError::Unreachable("no control-plane URL".into()));
        }
        let http = reqwest::Client::builder()
            // Short: a renewal that hangs is as bad as one that fails.
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| ApiCallError::Unreachable(e.to_string()))?;
        Ok(ControlApi {
            http,
            bases: bases
                .iter()
                .map(|b| b.trim_end_matches('/').to_owned())
                .collect(),
            current: Arc::new(AtomicUsize::new(0)),
            secret: secret.to_owned(),
            node_id: node_id.to_owned(),
        })
    }

    /// Sends the request `build` makes for a replica's base URL, from the current replica on.
    /// A replica that refuses the connection never saw the request, so the next one is tried
    /// at once; one that timed out may have applied it, so the call fails (the callers retry
    /// on their own schedule, and leases make a repeated call harmless) and the next call
    /// starts at the next replica.
    async fn send<T: DeserializeOwned>(
        &self,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<Result<T, StatusCode>, ApiCallError> {
        let first = self.current.load(Ordering::Relaxed);
        let mut last_error = None;
        for i in 0..self.bases.len() {
            let idx = (first + i) % self.bases.len();
            let base = &self.bases[idx];
            match self.send_to(build(base)).await {
                Err(Failure::NotSent(e)) => {
                    tracing::warn!(control_plane = %base, error = %e, "control plane unreachable; trying the next");
                    last_error = Some(ApiCallError::Unreachable(format!("{base}: {e}")));
                }
                Err(Failure::Lost(e)) => {
                    self.move_to(first, (idx + 1) % self.bases.len());
                    return Err(ApiCallError::Unreachable(format!("{base}: {e}")));
                }
                Err(Failure::Answered(e)) => {
                    self.move_to(first, idx);
                    return Err(e);
                }
                Ok(answer) => {
                    self.move_to(first, idx);
                    return Ok(answer);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| ApiCallError::Unreachable("no control plane".into())))
    }

    /// Makes `to` the current replica, unless another call already moved it away from `from`.
    fn move_to(&self, from: usize, to: usize) {
        if from != to
            && self
                .current
                .compare_exchange(from, to, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::info!(control_plane = %self.bases[to], "now talking to this control plane");
        }
    }

    async fn send_to<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<Result<T, StatusCode>, Failure> {
        let mut req = req
            .bearer_auth(&self.secret)
            .header(NODE_ID_HEADER, &self.node_id);
        // A call made for a job (the claim) shows in the job's trace on the control plane.
        for (name, value) in shared::trace_context::TraceContext::current()
            .iter()
            .flat_map(|t| t.fields())
        {
            req = req.header(name, value);
        }
        let resp = req.send().await.map_err(|e| {
            if e.is_connect() || e.is_builder() {
                // A request that could not be built never left either.
                Failure::NotSent(with_causes(&e))
            } else {
                Failure::Lost(with_causes(&e))
            }
        })?;
        let status = resp.status();
        if status.is_server_error() {
            return Err(Failure::Answered(ApiCallError::Unavailable(format!(
                "answered {status}"
            ))));
        }
        if !status.is_success() {
            return Ok(Err(status));
        }
        let env: Envelope<T> = resp
            .json()
            .await
            .map_err(|e| Failure::Answered(ApiCallError::Unavailable(e.to_string())))?;
        Ok(Ok(env.data))
    }

    /// Claims a stream: `None` when it is not ours to take (stopped, held, failed).
    pub async fn claim(&self, stream_id: Uuid) -> Result<Option<Grant>, ApiCallError> {
        let path = format!("/internal/streams/{stream_id}/claim");
        Ok(self
            .send(|base| self.http.post(format!("{base}{path}")))
            .await?
            .ok())
    }

    /// Renews every lease at once.
    pub async fn renew(&self, leases: Vec<Held>) -> Result<Vec<LeaseState>, ApiCallError> {
        let body = Renewal { leases };
        self.send(|base| {
            self.http
                .post(format!("{base}/internal/leases/renew"))
                .json(&body)
        })
        .await?
        .map_err(|s| ApiCallError::Unavailable(format!("renewal refused: {s}")))
    }

    /// Tells the control plane the stream is on air.
    pub async fn live(&self, stream_id: Uuid, epoch: i64) -> Result<bool, ApiCallError> {
        let path = format!("/internal/streams/{stream_id}/live");
        let r: Result<serde_json::Value, _> = self
            .send(|base| {
                self.http
                    .post(format!("{base}{path}"))
                    .json(&LeaseRef { epoch })
            })
            .await?;
        Ok(r.is_ok())
    }

    /// Gives a stream up (with a failure reason, or handing it to another node).
    pub async fn release(&self, stream_id: Uuid, release: &Release) -> Result<(), ApiCallError> {
        let path = format!("/internal/streams/{stream_id}/release");
        let _: Result<serde_json::Value, _> = self
            .send(|base| self.http.post(format!("{base}{path}")).json(release))
            .await?;
        Ok(())
    }

    /// Whose stream key an encoder presented: `None` when it is unknown or deleted.
    pub async fn authorize_ingest(
        &self,
        stream_key: &str,
    ) -> Result<Option<IngestGrant>, ApiCallError> {
        let body = IngestAuthorize {
            stream_key: stream_key.to_owned(),
        };
        Ok(self
            .send(|base| {
                self.http
                    .post(format!("{base}/internal/ingest/authorize"))
                    .json(&body)
            })
            .await?
            .ok())
    }

    /// Which of these keys were deleted (their publishers must be cut).
    pub async fn check_ingest(&self, key_ids: Vec<Uuid>) -> Result<Vec<Uuid>, ApiCallError> {
        let body = IngestCheck { key_ids };
        let r: IngestRevoked = self
            .send(|base| {
                self.http
                    .post(format!("{base}/internal/ingest/check"))
                    .json(&body)
            })
            .await?
            .map_err(|s| ApiCallError::Unavailable(format!("key check refused: {s}")))?;
        Ok(r.revoked)
    }

    /// The latest desired state of a stream this node holds.
    pub async fn spec(&self, stream_id: Uuid) -> Result<Option<StreamSpec>, ApiCallError> {
        let path = format!("/internal/streams/{stream_id}/spec");
        Ok(self
            .send(|base| self.http.get(format!("{base}{path}")))
            .await?
            .ok())
    }
}
