//! Control planes as real processes (to be SIGKILLed), and what `/proc` says about a process.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::nodes::{free_port, workspace_bin};
use crate::test_app::{JWT_SECRET, NODE_SECRET, TestApp};

/// A `control-plane` process, killed when dropped.
pub struct ControlPlaneProcess {
    pub base: String,
    pub child: Child,
    pub log: PathBuf,
}

impl Drop for ControlPlaneProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ControlPlaneProcess {
    /// Kills the process with SIGKILL (no shutdown path runs) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The process's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Starts the workspace's `control-plane` binary as another replica of `app`: same database,
/// Redis, broker, namespace and secrets, media URLs to this machine allowed. Returns once it
/// is ready.
pub async fn spawn_control_plane(app: &TestApp, name: &str) -> ControlPlaneProcess {
    spawn_control_plane_with_log(app, name, "info").await
}

/// [`spawn_control_plane`] logging at `rust_log` (a `RUST_LOG` filter) to its log file.
pub async fn spawn_control_plane_with_log(
    app: &TestApp,
    name: &str,
    rust_log: &str,
) -> ControlPlaneProcess {
    let port = free_port();
    let log = std::env::temp_dir().join(format!("{}{name}.log", app.namespace));
    let out = std::fs::File::create(&log).expect("control plane log file");
    let err = out.try_clone().expect("control plane log file");
    let child = Command::new(workspace_bin("control-plane"))
        .env("DATABASE_URL", &app.database_url)
        .env("REDIS_URL", &app.services.redis_url)
        .env("AMQP_URL", &app.services.amqp_url)
        .env("HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("JWT_SECRET", JWT_SECRET)
        .env("NODE_SECRET", NODE_SECRET)
        .env("SM_NAMESPACE", &app.namespace)
        .env("ALLOW_PRIVATE_MEDIA_URLS", "true")
        .env("RUST_LOG", rust_log)
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("control plane starts");
    let cp = ControlPlaneProcess {
        base: format!("http://127.0.0.1:{port}"),
        child,
        log,
    };
    let t0 = Instant::now();
    loop {
        let ready = app
            .client
            .get(format!("{}/readyz", cp.base))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ready {
            return cp;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "control plane {name} never became ready:\n{}",
            cp.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A process's resident memory in KiB (`VmRSS`), 0 when it is gone.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// How many file descriptors a process has open, 0 when it is gone.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// Least-squares slope and intercept of `y` against `x`.
pub fn least_squares(points: &[(f64, f64)]) -> (f64, f64) {
    let n = points.len() as f64;
    if points.len() < 2 {
        return (0.0, points.first().map_or(0.0, |p| p.1));
    }
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let (sxy, sxx) = points.iter().fold((0.0, 0.0), |(a, b), (x, y)| {
        (a + (x - mx) * (y - my), b + (x - mx) * (x - mx))
    });
    let slope = if sxx == 0.0 { 0.0 } else { sxy / sxx };
    (slope, my - slope * mx)
}

#[cfg(test)]
mod tests {
    use super::least_squares;

    #[test]
    fn least_squares_recovers_a_line() {
        let pts: Vec<(f64, f64)> = (0..10)
            .map(|i| (f64::from(i), 3.0 + 2.0 * f64::from(i)))
            .collect();
        let (slope, intercept) = least_squares(&pts);
        assert!((slope - 2.0).abs() < 1e-9 && (intercept - 3.0).abs() < 1e-9);
        assert_eq!(least_squares(&[(1.0, 5.0), (1.0, 7.0)]).0, 0.0);
    }
}
