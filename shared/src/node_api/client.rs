//! The typed client for the internal API: how a render node (and the tests) call the
//! control plane.
//!
//! A node may know several control-plane replicas (any of them can serve any call: they
//! share the database). It keeps talking to the one that last answered and moves to the next
//! when a call cannot reach it, so a replica that dies costs no lease renewal. Behind one URL,
//! a host name that resolves to several addresses (a DNS name with one address per
//! control-plane task) is tried address by address, each connection attempt cut short by
//! [`CONNECT_TIMEOUT`], so one crashed task never holds a call until it times out.
//!
//! How a call failed decides what happens next: a request that never left (connection
//! refused or not made) is tried on the next replica at once; one that left but got no
//! answer may have been applied, so the call fails (callers retry on their own schedule and
//! leases make a repeated call harmless) and the next call starts on a fresh connection at
//! the next replica; a 5xx answer means the replica is up but cannot do it (its database is
//! away). A 4xx answer is the caller's to read: see [`Answer`].

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::RwLock;
pub use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::de::{DeserializeOwned, IgnoredAny};
use uuid::Uuid;

use super::lease::RENEW_TIMEOUT;
use super::{
    Grant, Held, IngestAuthorize, IngestCheck, IngestGrant, IngestRevoked, LeaseRef, LeaseState,
    NODE_ID_HEADER, Release, Renewal, paths,
};
use crate::spec::StreamSpec;

/// The longest a call waits for its answer (renewals wait [`RENEW_TIMEOUT`]).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest a connection may take to open, split evenly between a host name's addresses.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// What a replica answered: the data, or the 4xx status it refused the call with (409 when a
/// lease is not, or no longer, the caller's; 404 when the thing asked for is unknown).
pub type Answer<T> = Result<T, StatusCode>;

/// A call that got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum ApiCallError {
    /// No control plane answered (down, restarting, or we are cut off from it).
    #[error("control plane unreachable: {0}")]
    Unreachable(String),
    /// A control plane answered but could not do it (its database is away: 5xx).
    #[error("control plane unavailable: {0}")]
    Unavailable(String),
}

/// How one attempt on one replica failed.
enum Failure {
    /// The connection was refused or could not be made: the request never left.
    NotSent(String),
    /// Sent, but no answer came back (timeout, reset): it may have been applied.
    Lost(String),
    /// The replica answered with a server error.
    Answered(ApiCallError),
}

/// The `{success, data}` envelope.
#[derive(serde::Deserialize)]
struct Envelope<T> {
    data: T,
}

/// A client for `/internal/...` on one of several replicas, calling as one node.
pub struct ControlPlane {
    /// Replaced after a lost call, so the next one does not reuse a pooled connection to a
    /// peer that may be gone.
    http: RwLock<reqwest::Client>,
    /// Host names resolved to fixed addresses instead of asking DNS.
    resolve: Vec<(String, Vec<SocketAddr>)>,
    bases: Vec<String>,
    /// Index into `bases` of the replica calls go to first.
    current: AtomicUsize,
    secret: SecretString,
    node_id: String,
}

/// An error with its chain of causes (reqwest's own message is often just "error sending
/// request").
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

impl ControlPlane {
    /// A client for the replicas at `bases` (at least one), authenticated by the node secret
    /// and naming itself `node_id`.
    pub fn new(
        bases: &[String],
        secret: impl Into<SecretString>,
        node_id: &str,
    ) -> Result<Self, ApiCallError> {
        if bases.is_empty() {
            return Err(ApiCallError::Unreachable("no control-plane URL".into()));
        }
        Ok(ControlPlane {
            http: RwLock::new(build_http(&[])?),
            resolve: Vec::new(),
            bases: bases
                .iter()
                .map(|b| b.trim_end_matches('/').to_owned())
                .collect(),
            current: AtomicUsize::new(0),
            secret: secret.into(),
            node_id: node_id.to_owned(),
        })
    }

    /// Resolves `host` to `addrs` instead of asking DNS (tests, and harnesses that run
    /// replicas on one machine).
    pub fn resolving(mut self, host: &str, addrs: &[SocketAddr]) -> Result<Self, ApiCallError> {
        self.resolve.push((host.to_owned(), addrs.to_vec()));
        *self.http.get_mut() = build_http(&self.resolve)?;
        Ok(self)
    }

    /// The node this client calls as.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// Every replica's base URL, in the configured order: asset fetches try them in turn.
    pub fn bases(&self) -> &[String] {
        &self.bases
    }

    /// Sends the request `build` makes for a replica's base URL, from the current replica on
    /// (see the module documentation for what each failure leads to).
    async fn send<T: DeserializeOwned>(
        &self,
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<Answer<T>, ApiCallError> {
        let first = self.current.load(Ordering::Relaxed);
        let mut last_error = None;
        for i in 0..self.bases.len() {
            let idx = (first + i) % self.bases.len();
            let base = &self.bases[idx];
            let http = self.http.read().clone();
            match self.send_to(build(&http, base)).await {
                Err(Failure::NotSent(e)) => {
                    tracing::warn!(control_plane = %base, error = %e, "control plane unreachable; trying the next");
                    last_error = Some(ApiCallError::Unreachable(format!("{base}: {e}")));
                }
                Err(Failure::Lost(e)) => {
                    self.fresh_connections();
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

    /// Drops the pooled connections: the next call connects (and resolves) afresh.
    fn fresh_connections(&self) {
        match build_http(&self.resolve) {
            Ok(http) => *self.http.write() = http,
            Err(e) => tracing::warn!(error = %e, "keeping the old connections"),
        }
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
    ) -> Result<Answer<T>, Failure> {
        let mut req = req
            .bearer_auth(self.secret.expose_secret())
            .header(NODE_ID_HEADER, &self.node_id);
        // A call made for a job (the claim) shows in the job's trace on the control plane.
        for (name, value) in crate::trace_context::TraceContext::current()
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
            .map_err(|e| Failure::Answered(ApiCallError::Unavailable(with_causes(&e))))?;
        Ok(Ok(env.data))
    }

    /// Claims a stream: its fencing epoch and latest desired state, or 409 when it is not
    /// this node's to take (stopped, held by another node, failed).
    pub async fn claim(&self, stream_id: Uuid) -> Result<Answer<Grant>, ApiCallError> {
        let path = paths::stream(paths::CLAIM, stream_id);
        self.send(|http, base| http.post(format!("{base}{path}")))
            .await
    }

    /// Renews every lease at once: which are still held, at which desired-state version.
    pub async fn renew(&self, leases: Vec<Held>) -> Result<Answer<Vec<LeaseState>>, ApiCallError> {
        let body = Renewal { leases };
        self.send(|http, base| {
            http.post(format!("{base}{}", paths::RENEW))
                .timeout(RENEW_TIMEOUT)
                .json(&body)
        })
        .await
    }

    /// Tells the control plane the stream is on air (409: the lease was lost meanwhile).
    pub async fn live(&self, stream_id: Uuid, epoch: i64) -> Result<Answer<()>, ApiCallError> {
        let path = paths::stream(paths::LIVE, stream_id);
        let body = LeaseRef { epoch };
        let answer: Answer<IgnoredAny> = self
            .send(|http, base| http.post(format!("{base}{path}")).json(&body))
            .await?;
        Ok(answer.map(drop))
    }

    /// Gives a stream up (with a failure reason, or handing it to another node).
    pub async fn release(
        &self,
        stream_id: Uuid,
        release: &Release,
    ) -> Result<Answer<()>, ApiCallError> {
        let path = paths::stream(paths::RELEASE, stream_id);
        let answer: Answer<IgnoredAny> = self
            .send(|http, base| http.post(format!("{base}{path}")).json(release))
            .await?;
        Ok(answer.map(drop))
    }

    /// The latest desired state of a stream this node holds (409 once it no longer does).
    pub async fn spec(&self, stream_id: Uuid) -> Result<Answer<StreamSpec>, ApiCallError> {
        let path = paths::stream(paths::SPEC, stream_id);
        self.send(|http, base| http.get(format!("{base}{path}")))
            .await
    }

    /// Whose stream key an encoder presented (404 when it is unknown or deleted).
    pub async fn authorize_ingest(
        &self,
        stream_key: &str,
    ) -> Result<Answer<IngestGrant>, ApiCallError> {
        let body = IngestAuthorize {
            stream_key: stream_key.to_owned(),
        };
        self.send(|http, base| {
            http.post(format!("{base}{}", paths::INGEST_AUTHORIZE))
                .json(&body)
        })
        .await
    }

    /// Which of these keys were deleted (their publishers must be cut).
    pub async fn check_ingest(
        &self,
        key_ids: Vec<Uuid>,
    ) -> Result<Answer<Vec<Uuid>>, ApiCallError> {
        let body = IngestCheck { key_ids };
        let answer: Answer<IngestRevoked> = self
            .send(|http, base| {
                http.post(format!("{base}{}", paths::INGEST_CHECK))
                    .json(&body)
            })
            .await?;
        Ok(answer.map(|r| r.revoked))
    }
}

/// The HTTP client: short connection attempts (each of a name's addresses in turn) and a
/// bounded wait for every answer.
fn build_http(resolve: &[(String, Vec<SocketAddr>)]) -> Result<reqwest::Client, ApiCallError> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(CALL_TIMEOUT);
    for (host, addrs) in resolve {
        b = b.resolve_to_addrs(host, addrs);
    }
    b.build()
        .map_err(|e| ApiCallError::Unreachable(with_causes(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// An HTTP server answering every request with `status` and `body`, or never answering.
    async fn server(status: Option<u16>, body: &'static str) -> SocketAddr {
        server_on("127.0.0.1", status, body).await
    }

    async fn server_on(ip: &str, status: Option<u16>, body: &'static str) -> SocketAddr {
        let listener = TcpListener::bind((ip, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    let _ = conn.read(&mut buf).await;
                    let Some(status) = status else {
                        // Holds the connection without answering.
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        return;
                    };
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = conn.write_all(resp.as_bytes()).await;
                });
            }
        });
        addr
    }

    /// An address nothing listens on (connections are refused).
    fn refusing() -> SocketAddr {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    }

    const SPEC: &str = r#"{"success":true,"data":[]}"#;

    /// A client of the replicas at `addrs`, in that order.
    fn client(addrs: &[SocketAddr]) -> ControlPlane {
        let bases: Vec<String> = addrs.iter().map(|a| format!("http://{a}/")).collect();
        ControlPlane::new(&bases, "s", "n1").unwrap()
    }

    #[tokio::test]
    async fn a_name_with_several_addresses_is_tried_address_by_address() {
        // A name resolves to addresses without ports (the URL's port applies to each): the
        // first address refuses on that port, the second answers.
        let live = server_on("127.0.0.2", Some(200), SPEC).await;
        let dead = SocketAddr::from(([127, 0, 0, 1], live.port()));
        let cp = ControlPlane::new(&[format!("http://cp.test:{}", live.port())], "s", "n1")
            .unwrap()
            .resolving("cp.test", &[dead, live])
            .unwrap();
        let renewed = cp
            .renew(Vec::new())
            .await
            .expect("the live address answers");
        assert_eq!(renewed.map(|v| v.len()), Ok(0));
    }

    #[tokio::test]
    async fn a_replica_that_refuses_connections_passes_the_call_to_the_next() {
        let dead = refusing();
        let live = server(Some(200), SPEC).await;
        let cp = client(&[dead, live]);
        assert!(cp.renew(Vec::new()).await.is_ok());
        // The next call starts where the last one was answered.
        assert_eq!(cp.current.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn answers_are_told_apart_from_failures() {
        let conflict = server(Some(409), r#"{"success":false}"#).await;
        let cp = client(&[conflict]);
        let claimed = cp.claim(Uuid::nil()).await.expect("an answer");
        assert_eq!(claimed.err(), Some(StatusCode::CONFLICT));

        let failing = server(Some(503), "{}").await;
        let cp = client(&[failing]);
        assert!(matches!(
            cp.claim(Uuid::nil()).await,
            Err(ApiCallError::Unavailable(_))
        ));
    }

    #[tokio::test]
    async fn a_call_lost_on_the_way_fails_and_the_next_goes_to_the_next_replica() {
        let silent = server(None, "").await;
        let live = server(Some(200), SPEC).await;
        let cp = client(&[silent, live]);
        // Not retried elsewhere: the silent replica may have applied it.
        assert!(matches!(
            cp.renew(Vec::new()).await,
            Err(ApiCallError::Unreachable(_))
        ));
        assert!(cp.renew(Vec::new()).await.is_ok());
    }
}
