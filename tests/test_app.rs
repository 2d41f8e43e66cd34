//! A control plane under test, with helpers to call it.

use std::time::Duration;

use control_plane::auth::JwtKeys;
use control_plane::config::Config;
use control_plane::startup::Application;
use control_plane::state::AppState;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::media_url::MediaPolicy;
use sqlx::Connection;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::control_plane_process::ControlPlaneProcess;
use crate::services::{Services, services, with_database};

/// The secret every test app signs tokens with.
pub const JWT_SECRET: &str = "integration-test-secret-0123456789";
/// The secret test render nodes present on the internal API.
pub const NODE_SECRET: &str = "integration-node-secret-0123456789";
/// The audience test tokens carry.
pub const AUDIENCE: &str = "stream-manager";

/// One running control plane.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub services: Services,
    pub database_url: String,
    /// AMQP and Redis prefix private to this test.
    pub namespace: String,
    pub state: AppState,
    keys: JwtKeys,
    stop: CancellationToken,
    /// The in-process server, until it is stopped.
    served: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// Whether this app made its namespace (a replica shares another app's): the owner
    /// deletes the namespace's queues when it is dropped.
    owns_namespace: bool,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
        if !self.owns_namespace {
            return;
        }
        // Quorum queues hold file descriptors on the broker: left behind by every test (and
        // every panicking one), they exhausted its descriptor limit late in a CI run and new
        // connections hung. Drop cannot await and may run on a runtime's thread, so the
        // deletion runs on a thread and a runtime of its own.
        let (url, namespace) = (self.services.amqp_url.clone(), self.namespace.clone());
        let nodes = crate::nodes::spawned_node_ids();
        let cleanup = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                let delete = delete_broker_namespace(&url, &namespace, &nodes);
                let _ = tokio::time::timeout(Duration::from_secs(10), delete).await;
            });
        });
        let _ = cleanup.join();
    }
}

/// A JSON answer: status and body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    /// `body.data`.
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// `body.error.code`.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// Asserts the status and the envelope's `success` flag agree with it.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected answer: {:#}",
            self.body
        );
        assert_eq!(
            self.body["success"].as_bool(),
            Some(status < 400),
            "envelope success flag wrong: {:#}",
            self.body
        );
        if status >= 400 {
            assert!(
                self.body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "error without message: {:#}",
                self.body
            );
        }
        self
    }
}

/// A new, empty database on the test Postgres; its URL.
pub async fn create_database(admin_url: &str) -> String {
    let name = format!("sm_it_{}", Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to postgres as admin");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    with_database(admin_url, &name)
}

/// The config of a test control plane on `database_url`, sharing `s` under `namespace`.
pub fn config(s: &Services, database_url: &str, namespace: &str) -> Config {
    Config {
        database_url: database_url.into(),
        redis_url: s.redis_url.as_str().into(),
        amqp_url: s.amqp_url.as_str().into(),
        http_addr: "127.0.0.1:0".parse().expect("literal address"),
        jwt_secret: JWT_SECRET.into(),
        jwt_audience: AUDIENCE.to_owned(),
        media: MediaPolicy {
            media_root: Some("/srv/media".into()),
            allow_private: false,
        },
        namespace: namespace.to_owned(),
        max_body_bytes: 64 * 1024,
        max_asset_bytes: 1024 * 1024,
        db_max_connections: 5,
        node_secret: Some(NODE_SECRET.into()),
        ingest_url: "rtmp://127.0.0.1:1935/live".into(),
        migrate_on_start: true,
        quotas: Default::default(),
        limits: Default::default(),
        webhooks: Default::default(),
    }
}

async fn launch(
    s: Services,
    database_url: String,
    namespace: String,
    allow_private: bool,
) -> TestApp {
    launch_with(s, database_url, namespace, |c| {
        c.media.allow_private = allow_private
    })
    .await
}

async fn launch_with(
    s: Services,
    database_url: String,
    namespace: String,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        shared::telemetry::init("control-plane", &control_plane::startup::LOG_TABLE);
    }
    let mut config = config(&s, &database_url, &namespace);
    adjust(&mut config);
    let app = Application::build(config).await.expect("build app");
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let stop = CancellationToken::new();
    let served = tokio::spawn(app.run_until_stopped(stop.clone()));
    TestApp {
        base,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("http client"),
        services: s,
        database_url,
        namespace,
        state,
        keys: JwtKeys::new(JWT_SECRET.as_bytes(), AUDIENCE),
        stop,
        served: Some(served),
        owns_namespace: false,
    }
}

/// A control plane with a fresh database and namespace.
pub async fn spawn_app() -> TestApp {
    spawn_app_with_private_urls(false).await
}

/// A control plane whose media policy lets URLs reach this machine (for tests with local
/// RTMP receivers and render nodes).
pub async fn spawn_app_with_private_urls(allow_private: bool) -> TestApp {
    let s = services().await;
    let database_url = create_database(&s.database_url).await;
    let namespace = format!("it-{}.", &Uuid::new_v4().simple().to_string()[..12]);
    let mut app = launch(s, database_url, namespace, allow_private).await;
    app.owns_namespace = true;
    app
}

/// A control plane with a fresh database and namespace, its config adjusted first (quotas,
/// server limits).
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let s = services().await;
    let database_url = create_database(&s.database_url).await;
    let namespace = format!("it-{}.", &Uuid::new_v4().simple().to_string()[..12]);
    let mut app = launch_with(s, database_url, namespace, adjust).await;
    app.owns_namespace = true;
    app
}

/// A second replica sharing `app`'s database, Redis and namespace.
pub async fn spawn_replica(app: &TestApp) -> TestApp {
    launch(
        app.services.clone(),
        app.database_url.clone(),
        app.namespace.clone(),
        false,
    )
    .await
}

/// A second replica sharing `app`'s stores, its config adjusted first.
pub async fn spawn_replica_with(app: &TestApp, adjust: impl FnOnce(&mut Config)) -> TestApp {
    launch_with(
        app.services.clone(),
        app.database_url.clone(),
        app.namespace.clone(),
        adjust,
    )
    .await
}

impl TestApp {
    /// Stops the in-process control plane (gracefully, waiting for it) and serves the same
    /// database, Redis and namespace from a `control-plane` process instead, on a port of
    /// its own that survives restarts; calls go to that process from then on (the in-process
    /// `state` and `flush_outbox` are no longer usable).
    pub async fn serve_from_process(&mut self) -> ControlPlaneProcess {
        self.serve_from_process_with("info", &[]).await
    }

    /// [`Self::serve_from_process`] with `rust_log` as its `RUST_LOG` filter and more
    /// variables (pool size, limits) set.
    pub async fn serve_from_process_with(
        &mut self,
        rust_log: &str,
        extra: &[(&'static str, String)],
    ) -> ControlPlaneProcess {
        self.stop.cancel();
        if let Some(served) = self.served.take() {
            let _ = served.await;
        }
        let port = crate::nodes::free_port();
        let process = ControlPlaneProcess::start_with_env(self, port, rust_log, extra).await;
        self.base = process.base.clone();
        process
    }

    /// A valid token for `tenant`.
    pub fn token(&self, tenant: &str) -> String {
        self.keys
            .issue(tenant, Duration::from_secs(3600))
            .expect("issue token")
    }

    /// A valid operator token.
    pub fn operator_token(&self) -> String {
        self.keys
            .issue_operator("ops", Duration::from_secs(3600))
            .expect("issue token")
    }

    /// Sends a request as `tenant` (no token when `None`), with an optional JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        tenant: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = tenant {
            req = req.bearer_auth(self.token(t));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        Self::answer(resp).await
    }

    /// Sends raw bytes with a bearer token and content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Answer {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        Self::answer(req.send().await.expect("request sent")).await
    }

    async fn answer(resp: reqwest::Response) -> Answer {
        let status = resp.status();
        let bytes = resp.bytes().await.expect("body read");
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!(
                "non-JSON answer {status}: {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        Answer { status, body }
    }

    /// Uploads `body` as an asset with `content_type`, as the holder of `token`.
    pub async fn upload(&self, token: &str, content_type: &str, body: Vec<u8>) -> Answer {
        self.raw(
            Method::POST,
            "/stream/assets",
            Some(token),
            content_type,
            body,
        )
        .await
    }

    /// GETs a non-JSON path of this control plane as `tenant` (a preview, a page).
    pub async fn get_raw(&self, path: &str, tenant: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(self.token(tenant))
            .send()
            .await
            .expect("request sent")
    }

    /// The text at `url` (any server: a node's `/metrics`, this one's), with an optional
    /// bearer token.
    pub async fn text(&self, url: &str, bearer: Option<&str>) -> String {
        let mut req = self.client.get(url);
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        req.send()
            .await
            .expect("request sent")
            .text()
            .await
            .expect("body read")
    }

    /// GET as `tenant`.
    pub async fn get(&self, path: &str, tenant: &str) -> Answer {
        self.call(Method::GET, path, Some(tenant), None).await
    }

    /// POST JSON as `tenant`.
    pub async fn post(&self, path: &str, tenant: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(tenant), Some(body))
            .await
    }

    /// PATCH JSON as `tenant`.
    pub async fn patch(&self, path: &str, tenant: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(tenant), Some(body))
            .await
    }

    /// DELETE as `tenant`.
    pub async fn delete(&self, path: &str, tenant: &str) -> Answer {
        self.call(Method::DELETE, path, Some(tenant), None).await
    }

    /// Gives acme's stream a cheap 30 fps output (fastest encoder preset) sent to `outputs`.
    pub async fn set_test_output(&self, resolution: &str, bitrate: &str, outputs: &[&str]) {
        self.patch(
            "/stream/config",
            "acme",
            json!({"STREAM_RESOLUTION": resolution, "TARGET_FPS": 30, "STREAM_BITRATE": bitrate,
                   "RENDER_QUALITY": 1, "outputs": outputs}),
        )
        .await
        .expect(200);
    }

    /// Gives `tenant`'s stream a cheap 30 fps output at `resolution` sent to `url`, over a
    /// navy background layer (not started).
    pub async fn navy_stream_for(&self, tenant: &str, resolution: &str, url: &str) {
        self.patch(
            "/stream/config",
            tenant,
            json!({"STREAM_RESOLUTION": resolution, "TARGET_FPS": 30, "STREAM_BITRATE": "400k",
                   "RENDER_QUALITY": 1, "outputs": [url]}),
        )
        .await
        .expect(200);
        self.post(
            "/stream/layers",
            tenant,
            json!({"kind": "color", "source": {"color": "#000080"}}),
        )
        .await
        .expect(201);
    }

    /// Adds a layer to acme's stream and returns its id.
    pub async fn add_layer(&self, layer: Value) -> String {
        let answer = self.post("/stream/layers", "acme", layer).await;
        answer.expect(201);
        answer.data()["id"]
            .as_str()
            .expect("the new layer's id")
            .to_owned()
    }

    /// Publishes everything in the outbox now, instead of waiting for the relay's tick.
    pub async fn flush_outbox(&self) -> usize {
        control_plane::dispatch::relay::publish_pending(&self.state)
            .await
            .expect("outbox relay step")
    }

    /// Takes the next message from one of this app's queues, waiting up to `timeout`.
    pub async fn next_message(&self, queue: &str, timeout: Duration) -> Option<Value> {
        let conn = shared::amqp::connect(&self.services.amqp_url, "integration-test")
            .await
            .expect("amqp connect");
        let channel = conn.create_channel().await.expect("channel");
        shared::amqp::declare_topology(
            &channel,
            &shared::messages::Topology::new(self.namespace.clone()),
        )
        .await
        .expect("topology");
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let got = channel
                .basic_get(
                    queue.into(),
                    lapin::options::BasicGetOptions { no_ack: true },
                )
                .await
                .expect("basic.get");
            if let Some(msg) = got {
                return Some(serde_json::from_slice(&msg.delivery.data).expect("JSON message"));
            }
            if tokio::time::Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `GET /nodes` as an operator: the fleet's registry (`data.nodes`, capacity, load).
    pub async fn fleet(&self) -> Value {
        self.client
            .get(format!("{}/nodes", self.base))
            .bearer_auth(self.operator_token())
            .send()
            .await
            .expect("GET /nodes sent")
            .json()
            .await
            .expect("GET /nodes answers JSON")
    }

    /// A connection to this app's database, for tests that look at rows directly.
    pub async fn db(&self) -> sqlx::PgConnection {
        sqlx::PgConnection::connect(&self.database_url)
            .await
            .expect("connect to the test database")
    }

    /// The fencing epoch of a stream's lease: it moves on every claim, so an unchanged
    /// epoch means the stream was never dispatched again.
    pub async fn lease_epoch(&self, stream_id: &str) -> i64 {
        let id: Uuid = stream_id.parse().expect("a stream id");
        sqlx::query_scalar("SELECT lease_epoch FROM streams WHERE id = $1")
            .bind(id)
            .fetch_one(&mut self.db().await)
            .await
            .expect("the stream's lease epoch")
    }

    /// The name of this app's jobs queue.
    pub fn jobs_queue(&self) -> String {
        shared::messages::Topology::new(self.namespace.clone()).jobs_queue()
    }
}

impl TestApp {
    /// Deletes this test's queues and exchanges on the broker (or cluster: a comma list of
    /// nodes) at `amqp_url`; the services' own broker is cleaned when the app is dropped.
    pub async fn cleanup_broker_at(&self, amqp_url: &str) {
        delete_broker_namespace(amqp_url, &self.namespace, &crate::nodes::spawned_node_ids()).await;
    }
}

/// Deletes `namespace`'s queues (jobs, dead letters, the queues of `nodes`) and exchanges,
/// so the broker does not collect them; best effort.
async fn delete_broker_namespace(amqp_url: &str, namespace: &str, nodes: &[String]) {
    let topo = shared::messages::Topology::new(namespace.to_owned());
    let Ok(conn) = shared::amqp::connect(amqp_url, "integration-cleanup").await else {
        return;
    };
    let Ok(channel) = conn.create_channel().await else {
        return;
    };
    let node_queues = nodes.iter().map(|id| topo.node_queue(id));
    for q in [topo.jobs_queue(), topo.dead_letter_queue()]
        .into_iter()
        .chain(node_queues)
    {
        let _ = channel
            .queue_delete(
                q.as_str().into(),
                lapin::options::QueueDeleteOptions::default(),
            )
            .await;
    }
    for x in [topo.commands_exchange(), topo.dead_letter_exchange()] {
        let _ = channel
            .exchange_delete(
                x.as_str().into(),
                lapin::options::ExchangeDeleteOptions::default(),
            )
            .await;
    }
    let _ = conn.close(200, "cleaned up".into()).await;
}
