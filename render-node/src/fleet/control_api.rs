//! The control plane's internal API, as the node calls it.

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

/// A client for `/internal/...`.
#[derive(Clone)]
pub struct ControlApi {
    http: reqwest::Client,
    base: String,
    secret: String,
    node_id: String,
}

/// The `{success, data}` envelope.
#[derive(serde::Deserialize)]
struct Envelope<T> {
    data: T,
}

impl ControlApi {
    /// A client for the control plane at `base`.
    pub fn new(base: &str, secret: &str, node_id: &str) -> Result<Self, ApiCallError> {
        let http = reqwest::Client::builder()
            // Short: a renewal that hangs is as bad as one that fails.
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| ApiCallError::Unreachable(e.to_string()))?;
        Ok(ControlApi {
            http,
            base: base.trim_end_matches('/').to_owned(),
            secret: secret.to_owned(),
            node_id: node_id.to_owned(),
        })
    }

    async fn send<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<Result<T, StatusCode>, ApiCallError> {
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
        let resp = req
            .send()
            .await
            .map_err(|e| ApiCallError::Unreachable(e.to_string()))?;
        let status = resp.status();
        if status.is_server_error() {
            return Err(ApiCallError::Unavailable(format!("answered {status}")));
        }
        if !status.is_success() {
            return Ok(Err(status));
        }
        let env: Envelope<T> = resp
            .json()
            .await
            .map_err(|e| ApiCallError::Unavailable(e.to_string()))?;
        Ok(Ok(env.data))
    }

    /// Claims a stream: `None` when it is not ours to take (stopped, held, failed).
    pub async fn claim(&self, stream_id: Uuid) -> Result<Option<Grant>, ApiCallError> {
        let url = format!("{}/internal/streams/{stream_id}/claim", self.base);
        Ok(self.send(self.http.post(url)).await?.ok())
    }

    /// Renews every lease at once.
    pub async fn renew(&self, leases: Vec<Held>) -> Result<Vec<LeaseState>, ApiCallError> {
        let url = format!("{}/internal/leases/renew", self.base);
        self.send(self.http.post(url).json(&Renewal { leases }))
            .await?
            .map_err(|s| ApiCallError::Unavailable(format!("renewal refused: {s}")))
    }

    /// Tells the control plane the stream is on air.
    pub async fn live(&self, stream_id: Uuid, epoch: i64) -> Result<bool, ApiCallError> {
        let url = format!("{}/internal/streams/{stream_id}/live", self.base);
        let r: Result<serde_json::Value, _> = self
            .send(self.http.post(url).json(&LeaseRef { epoch }))
            .await?;
        Ok(r.is_ok())
    }

    /// Gives a stream up (with a failure reason, or handing it to another node).
    pub async fn release(&self, stream_id: Uuid, release: &Release) -> Result<(), ApiCallError> {
        let url = format!("{}/internal/streams/{stream_id}/release", self.base);
        let _: Result<serde_json::Value, _> = self.send(self.http.post(url).json(release)).await?;
        Ok(())
    }

    /// Whose stream key an encoder presented: `None` when it is unknown or deleted.
    pub async fn authorize_ingest(
        &self,
        stream_key: &str,
    ) -> Result<Option<IngestGrant>, ApiCallError> {
        let url = format!("{}/internal/ingest/authorize", self.base);
        let body = IngestAuthorize {
            stream_key: stream_key.to_owned(),
        };
        Ok(self.send(self.http.post(url).json(&body)).await?.ok())
    }

    /// Which of these keys were deleted (their publishers must be cut).
    pub async fn check_ingest(&self, key_ids: Vec<Uuid>) -> Result<Vec<Uuid>, ApiCallError> {
        let url = format!("{}/internal/ingest/check", self.base);
        let r: IngestRevoked = self
            .send(self.http.post(url).json(&IngestCheck { key_ids }))
            .await?
            .map_err(|s| ApiCallError::Unavailable(format!("key check refused: {s}")))?;
        Ok(r.revoked)
    }

    /// The latest desired state of a stream this node holds.
    pub async fn spec(&self, stream_id: Uuid) -> Result<Option<StreamSpec>, ApiCallError> {
        let url = format!("{}/internal/streams/{stream_id}/spec", self.base);
        Ok(self.send(self.http.get(url)).await?.ok())
    }
}
