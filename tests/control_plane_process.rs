//! A control plane as its own `control-plane` process, so tests can kill it (SIGKILL) and
//! start another on the same database, Redis, namespace and address.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::nodes::workspace_bin;
use crate::test_app::{AUDIENCE, JWT_SECRET, NODE_SECRET, TestApp};

/// A running `control-plane` process, killed when dropped.
pub struct ControlPlaneProcess {
    /// `http://IP:PORT` (127.0.0.1 unless started with [`Self::start_at`]): the same for every
    /// process started on this address.
    pub base: String,
    port: u16,
    env: Vec<(&'static str, String)>,
    child: Child,
    /// Every process's output, appended.
    pub log: PathBuf,
}

impl Drop for ControlPlaneProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ControlPlaneProcess {
    /// Starts one serving `app`'s database and namespace on `port`, and waits until it is
    /// ready (`/readyz`).
    pub async fn start(app: &TestApp, port: u16) -> ControlPlaneProcess {
        Self::start_logging(app, port, "info").await
    }

    /// [`Self::start`] with `rust_log` as its `RUST_LOG` filter.
    pub async fn start_logging(app: &TestApp, port: u16, rust_log: &str) -> ControlPlaneProcess {
        Self::start_with_env(app, port, rust_log, &[]).await
    }

    /// [`Self::start_logging`] with more variables (limits, quotas) set.
    pub async fn start_with_env(
        app: &TestApp,
        port: u16,
        rust_log: &str,
        extra: &[(&'static str, String)],
    ) -> ControlPlaneProcess {
        Self::start_bound(app, "127.0.0.1", port, rust_log, extra).await
    }

    /// [`Self::start`] listening on `ip` (another loopback address such as 127.0.0.2), so
    /// several replicas can share one port behind one host name with several addresses.
    pub async fn start_at(app: &TestApp, ip: &str, port: u16) -> ControlPlaneProcess {
        Self::start_bound(app, ip, port, "info", &[]).await
    }

    async fn start_bound(
        app: &TestApp,
        ip: &str,
        port: u16,
        rust_log: &str,
        extra: &[(&'static str, String)],
    ) -> ControlPlaneProcess {
        let mut env = vec![
            ("DATABASE_URL", app.database_url.clone()),
            ("REDIS_URL", app.services.redis_url.clone()),
            ("AMQP_URL", app.services.amqp_url.clone()),
            ("HTTP_ADDR", format!("{ip}:{port}")),
            ("JWT_SECRET", JWT_SECRET.to_owned()),
            ("JWT_AUDIENCE", AUDIENCE.to_owned()),
            ("NODE_SECRET", NODE_SECRET.to_owned()),
            ("SM_NAMESPACE", app.namespace.clone()),
            ("ALLOW_PRIVATE_MEDIA_URLS", "true".to_owned()),
            ("DB_MAX_CONNECTIONS", "5".to_owned()),
            ("RUST_LOG", rust_log.to_owned()),
        ];
        env.extend(extra.iter().cloned());
        let suffix = if ip == "127.0.0.1" {
            String::new()
        } else {
            format!("-{ip}")
        };
        let log = std::env::temp_dir().join(format!("{}control-plane{suffix}.log", app.namespace));
        let child = spawn(&env, &log);
        let process = ControlPlaneProcess {
            base: format!("http://{ip}:{port}"),
            port,
            env,
            child,
            log,
        };
        process.wait_ready().await;
        process
    }

    /// SIGKILLs the process: no graceful shutdown, in-flight requests and relay work lost.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts a new process with the same settings on the same port (after [`Self::kill`])
    /// and waits until it is ready; returns how long that took.
    pub async fn start_again(&mut self) -> Duration {
        let t0 = Instant::now();
        self.child = spawn(&self.env, &self.log);
        self.wait_ready().await;
        t0.elapsed()
    }

    /// The process id, for `/proc` figures.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The output of every process so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = client
                .get(format!("{}/readyz", self.base))
                .timeout(Duration::from_secs(1))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "control plane on port {} never became ready:\n{}",
                self.port,
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn spawn(env: &[(&'static str, String)], log: &PathBuf) -> Child {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("control plane log file");
    let err = out.try_clone().expect("control plane log file");
    Command::new(workspace_bin("control-plane"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("control-plane starts")
}
