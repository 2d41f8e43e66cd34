//! Render nodes and RTMP receivers as real processes, for the fleet tests.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use std::time::Instant;

use crate::test_app::{NODE_SECRET, TestApp};

/// The bearer token test nodes accept on `/metrics` for their per-stream series.
pub const METRICS_TOKEN: &str = "test-metrics-token";

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One of the workspace's binaries (`render-node`, `control-plane`), next to the test
/// executable's folder.
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target profile dir");
    let bin = dir.join(name);
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p {name}` (the workspace test run does)",
        bin.display()
    );
    bin
}

/// The workspace's `render-node` binary.
pub fn render_node_bin() -> PathBuf {
    workspace_bin("render-node")
}

/// The ids of the nodes this process spawned (nextest runs each test in a process of its
/// own: the nodes of this test), whose queues the test's app deletes when it is dropped.
pub fn spawned_node_ids() -> Vec<String> {
    SPAWNED_NODES
        .lock()
        .map(|ids| ids.clone())
        .unwrap_or_default()
}

static SPAWNED_NODES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// A render node process, killed when dropped.
pub struct NodeProcess {
    pub id: String,
    pub child: Child,
    pub log: PathBuf,
    /// Where encoders publish to this node (`INGEST_ADDR`).
    pub ingest_port: u16,
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl NodeProcess {
    /// Sends a signal (`KILL`, `TERM`, `STOP`, `CONT`) to the process.
    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([format!("-{sig}"), self.child.id().to_string()])
            .status();
    }

    /// The node's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits up to `timeout` for the node to log that it applied `version` of a stream;
    /// panics with the node's log (and `what`) when it does not.
    pub async fn wait_for_update(&self, version: i64, timeout: Duration, what: &str) {
        let want = format!("version={version}");
        let t0 = std::time::Instant::now();
        while !self
            .log_text()
            .lines()
            .any(|l| l.contains("update applied") && l.contains(&want))
        {
            assert!(t0.elapsed() < timeout, "{what}:\n{}", self.log_text());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits up to `timeout` for `needle` in the node's log; panics with the log (and
    /// `what`) when it does not come.
    pub async fn wait_for_log(&self, needle: &str, timeout: Duration, what: &str) {
        let t0 = std::time::Instant::now();
        while !self.log_text().contains(needle) {
            assert!(t0.elapsed() < timeout, "{what}:\n{}", self.log_text());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits up to 15 s for the node's RTMP ingest to accept connections; its address.
    pub async fn wait_ingest_listening(&self) -> String {
        let addr = format!("127.0.0.1:{}", self.ingest_port);
        let t0 = std::time::Instant::now();
        while tokio::net::TcpStream::connect(&addr).await.is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(15),
                "ingest never listened"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        addr
    }

    /// The RTMP URL an encoder publishes `stream_key` to on this node.
    pub fn ingest_url(&self, stream_key: &str) -> String {
        format!("rtmp://127.0.0.1:{}/live/{stream_key}", self.ingest_port)
    }
}

/// Starts a render node joining `app`'s fleet.
pub fn spawn_node(app: &TestApp, id: &str, capacity: usize) -> NodeProcess {
    spawn_node_with_env(app, id, capacity, &[])
}

/// Starts a render node joining `app`'s fleet with extra environment variables.
pub fn spawn_node_with_env(
    app: &TestApp,
    id: &str,
    capacity: usize,
    env: &[(&str, &str)],
) -> NodeProcess {
    spawn(app, id, capacity, env, None)
}

/// Like [`spawn_node_with_env`], the node resolving names only through the name server
/// `resolv_conf` names: it runs in a mount namespace of its own with that file over
/// `/etc/resolv.conf` (the tests run as root; `/etc/hosts` stays, and has none of the
/// names a test serves).
pub fn spawn_node_with_resolver(
    app: &TestApp,
    id: &str,
    env: &[(&str, &str)],
    resolv_conf: &std::path::Path,
) -> NodeProcess {
    spawn(app, id, 1, env, Some(resolv_conf))
}

fn spawn(
    app: &TestApp,
    id: &str,
    capacity: usize,
    env: &[(&str, &str)],
    resolv_conf: Option<&std::path::Path>,
) -> NodeProcess {
    let log = std::env::temp_dir().join(format!("{}{id}.log", app.namespace));
    let out = std::fs::File::create(&log).expect("node log file");
    let rtsp_port = free_port();
    let ingest_port = free_port();
    if let Ok(mut ids) = SPAWNED_NODES.lock()
        && !ids.iter().any(|n| n == id)
    {
        ids.push(id.to_owned());
    }
    let err = out.try_clone().expect("node log file");
    let mut cmd = match resolv_conf {
        None => Command::new(workspace_bin("render-node")),
        Some(conf) => {
            // `exec` keeps one process: the child's id is the node's.
            let mut c = Command::new("unshare");
            c.args(["-m", "sh", "-c"])
                .arg(r#"mount --bind "$1" /etc/resolv.conf && exec "$0" "$2""#)
                .arg(workspace_bin("render-node"))
                .arg(conf);
            c
        }
    };
    let child = cmd
        .arg("serve")
        .env("NODE_ID", id)
        .env("NODE_CAPACITY", capacity.to_string())
        .env("AMQP_URL", &app.services.amqp_url)
        .env("REDIS_URL", &app.services.redis_url)
        .env("CONTROL_PLANE_URL", &app.base)
        .env("NODE_SECRET", NODE_SECRET)
        .env("SM_NAMESPACE", &app.namespace)
        .env("ALLOW_PRIVATE_MEDIA_URLS", "true")
        // Debug from the node, but not its per-frame timing lines (STREAM_PERF_METRICS);
        // NODE_LOG overrides it.
        .env(
            "RUST_LOG",
            std::env::var("NODE_LOG")
                .unwrap_or("info,render_node=debug,render_node::perf=info".into()),
        )
        .env("METRICS_ADDR", format!("127.0.0.1:{}", free_port()))
        .env("METRICS_TOKEN", METRICS_TOKEN)
        .env("RTSP_ADDR", format!("127.0.0.1:{rtsp_port}"))
        .env("INGEST_ADDR", format!("127.0.0.1:{ingest_port}"))
        .envs(env.iter().copied())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("render node starts");
    NodeProcess {
        id: id.to_owned(),
        child,
        log,
        ingest_port,
    }
}

/// `ffmpeg -listen 1` receiving one RTMP publish and decoding its video to raw RGB frames
/// (and, when asked, its audio to 8 kHz mono PCM).
pub struct Receiver {
    pub url: String,
    pub file: PathBuf,
    pub audio_file: Option<PathBuf>,
    pub width: u32,
    pub height: u32,
    child: Child,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How much a receiving ffmpeg reads before it decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probing {
    /// As a live ingest does: decode from the first packets — no stream analysis, no
    /// frame-rate probe, no frame-threading delay in the decoder. (Not `-fflags nobuffer`: it
    /// throws away the packets read while probing, the first keyframe among them, so
    /// decoding waits for the next one, 2 s later.)
    LowDelay,
    /// ffmpeg's defaults: stream analysis and 40 frames of frame-rate probing (20, doubled
    /// for FLV's 1 ms time base) before the first frame comes out, about 1.3 s at 30 fps.
    Defaults,
}

impl Receiver {
    /// Listens on a free port for a `width`x`height` stream, decoding with low delay.
    pub fn start(name: &str, width: u32, height: u32) -> Receiver {
        Self::spawn(name, width, height, Probing::LowDelay, false)
    }

    /// Like [`Receiver::start`], also decoding the audio.
    pub fn start_with_audio(name: &str, width: u32, height: u32) -> Receiver {
        Self::spawn(name, width, height, Probing::LowDelay, true)
    }

    /// Like [`Receiver::start`], decoding as `probing` says.
    pub fn start_with(name: &str, width: u32, height: u32, probing: Probing) -> Receiver {
        Self::spawn(name, width, height, probing, false)
    }

    fn spawn(name: &str, width: u32, height: u32, probing: Probing, audio: bool) -> Receiver {
        let port = free_port();
        let url = format!("rtmp://127.0.0.1:{port}/live/{name}");
        let file = std::env::temp_dir().join(format!("sm-recv-{name}-{port}.rgb"));
        let audio_file =
            audio.then(|| std::env::temp_dir().join(format!("sm-recv-{name}-{port}.pcm")));
        let mut cmd = Command::new("ffmpeg");
        cmd.args(["-v", "error", "-y"]);
        if probing == Probing::LowDelay {
            cmd.args([
                "-probesize",
                "32",
                "-analyzeduration",
                "0",
                "-fpsprobesize",
                "0",
                "-flags",
                "low_delay",
            ]);
        }
        // Each frame reaches the file whole at once, not its last bytes with the next.
        cmd.args([
            "-listen",
            "1",
            "-i",
            &url,
            "-map",
            "0:v",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-flush_packets",
            "1",
        ])
        .arg(&file);
        if let Some(a) = &audio_file {
            // Unflushed, ffmpeg holds raw audio back until it exits.
            cmd.args([
                "-map",
                "0:a",
                "-flush_packets",
                "1",
                "-f",
                "s16le",
                "-ac",
                "1",
                "-ar",
                "8000",
            ])
            .arg(a);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ffmpeg starts (install it with scripts/install-deps.sh)");
        let r = Receiver {
            url,
            file,
            audio_file,
            width,
            height,
            child,
        };
        r.wait_listening(port);
        r
    }

    /// Waits (up to 5 s) until ffmpeg listens, so a sender is not refused and made to retry.
    /// Reads the kernel's socket table: a test connection would use up its one publish.
    fn wait_listening(&self, port: u16) {
        let needle = format!(":{port:04X} 00000000:0000 0A");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            let listening = std::fs::read_to_string("/proc/net/tcp")
                .is_ok_and(|t| t.lines().any(|l| l.contains(&needle)));
            if listening {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Root mean square of the last `seconds` of decoded audio (0 when none arrived).
    pub fn audio_rms(&self, seconds: f64) -> f64 {
        let pcm = self
            .audio_file
            .as_ref()
            .and_then(|f| std::fs::read(f).ok())
            .unwrap_or_default();
        let samples: Vec<f64> = pcm
            .chunks_exact(2)
            .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])))
            .collect();
        let tail = &samples[samples.len().saturating_sub((8000.0 * seconds) as usize)..];
        if tail.is_empty() {
            return 0.0;
        }
        (tail.iter().map(|s| s * s).sum::<f64>() / tail.len() as f64).sqrt()
    }

    /// Decoded bytes received so far.
    pub fn bytes(&self) -> u64 {
        std::fs::metadata(&self.file).map(|m| m.len()).unwrap_or(0)
    }

    fn frame_size(&self) -> u64 {
        u64::from(self.width * self.height * 3)
    }

    /// Complete frames decoded so far.
    pub fn frame_count(&self) -> u64 {
        self.bytes() / self.frame_size()
    }

    /// Decoded frame `i` (from 0), read alone from the growing file.
    pub fn frame(&self, i: u64) -> Option<Vec<u8>> {
        use std::io::{Seek, SeekFrom};
        let size = self.frame_size();
        let mut f = std::fs::File::open(&self.file).ok()?;
        f.seek(SeekFrom::Start(i * size)).ok()?;
        let mut buf = vec![0; size as usize];
        f.read_exact(&mut buf).ok()?;
        Some(buf)
    }

    /// The newest complete decoded frame, if any arrived.
    pub fn latest_frame(&self) -> Option<Vec<u8>> {
        self.frame(self.frame_count().checked_sub(1)?)
    }

    /// Waits up to `timeout` until the newest decoded frame shows `rgb` (give or take
    /// encoding loss) at (x, y); how long that took.
    pub async fn wait_for_pixel(
        &self,
        at: (u32, u32),
        rgb: [u8; 3],
        timeout: Duration,
    ) -> Option<Duration> {
        self.wait_until_pixel(at, timeout, |p| looks_like(p, rgb))
            .await
    }

    /// Waits up to `timeout` until the newest decoded frame's pixel at (x, y) satisfies
    /// `pred`; how long that took.
    pub async fn wait_until_pixel(
        &self,
        (x, y): (u32, u32),
        timeout: Duration,
        pred: impl Fn([u8; 3]) -> bool,
    ) -> Option<Duration> {
        let t0 = Instant::now();
        while t0.elapsed() < timeout {
            if self
                .latest_frame()
                .is_some_and(|f| pred(pixel(&f, self.width, x, y)))
            {
                return Some(t0.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        None
    }

    /// Whether ffmpeg still runs: it takes one publish only, so it still running means the
    /// sender never dropped its connection.
    pub fn still_receiving(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for ffmpeg to finish (after the publisher disconnects) and returns the frames.
    pub fn finish(mut self, timeout: Duration) -> Vec<Vec<u8>> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let raw = std::fs::read(&self.file).unwrap_or_default();
        let size = (self.width * self.height * 3) as usize;
        raw.chunks_exact(size).map(<[u8]>::to_vec).collect()
    }
}

/// The RGB pixel at (x, y) of a frame.
pub fn pixel(frame: &[u8], width: u32, x: u32, y: u32) -> [u8; 3] {
    let i = ((y * width + x) * 3) as usize;
    [frame[i], frame[i + 1], frame[i + 2]]
}

/// A gauge from a node's Prometheus page at `http_addr` (`/nodes` lists them).
pub async fn node_gauge(http_addr: &str, name: &str) -> Option<f64> {
    let text = reqwest::Client::new()
        .get(format!("http://{http_addr}/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    // The series itself, not another whose name starts the same.
    text.lines()
        .find(|l| {
            l.strip_prefix(name)
                .is_some_and(|r| r.starts_with([' ', '{']))
        })?
        .rsplit(' ')
        .next()?
        .parse()
        .ok()
}

/// Whether a decoded pixel is `rgb`, give or take encoding loss.
pub fn looks_like(p: [u8; 3], rgb: [u8; 3]) -> bool {
    p.iter().zip(rgb).all(|(a, b)| a.abs_diff(b) < 75)
}

/// A TCP relay in front of a receiver that notes when the sender's first byte arrives (the
/// moment "first RTMP bytes at the receiver", before any decoding) and when the receiver
/// accepts the publish (its `NetStream.Publish.Start` answer).
pub struct FirstBytes {
    /// The receiver's URL with the relay's port.
    pub url: String,
    first: Arc<OnceLock<Instant>>,
    accepted: Arc<OnceLock<Instant>>,
}

impl FirstBytes {
    /// A relay for one connection to `receiver`.
    pub fn in_front_of(receiver: &Receiver) -> FirstBytes {
        let target = receiver
            .url
            .strip_prefix("rtmp://")
            .and_then(|rest| rest.split('/').next())
            .expect("an rtmp:// URL with a host:port")
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("relay listens");
        let port = listener.local_addr().expect("relay address").port();
        let url = receiver
            .url
            .replacen(&target, &format!("127.0.0.1:{port}"), 1);
        let (first, accepted) = (Arc::new(OnceLock::new()), Arc::new(OnceLock::new()));
        let (seen, ok) = (first.clone(), accepted.clone());
        std::thread::spawn(move || {
            let Ok((sender, _)) = listener.accept() else {
                return;
            };
            let Ok(server) = TcpStream::connect(&target) else {
                return;
            };
            let (Ok(server_in), Ok(sender_out)) = (server.try_clone(), sender.try_clone()) else {
                return;
            };
            let _ = sender.set_nodelay(true);
            let _ = server.set_nodelay(true);
            std::thread::spawn(move || {
                relay(server_in, sender_out, |chunk| {
                    if chunk.windows(23).any(|w| w == b"NetStream.Publish.Start") {
                        let _ = ok.set(Instant::now());
                    }
                })
            });
            relay(sender, server, |_| {
                let _ = seen.set(Instant::now());
            });
        });
        FirstBytes {
            url,
            first,
            accepted,
        }
    }

    /// When the first byte came, if it did.
    pub fn at(&self) -> Option<Instant> {
        self.first.get().copied()
    }

    /// When the receiver accepted the publish, if it did.
    pub fn accepted_at(&self) -> Option<Instant> {
        self.accepted.get().copied()
    }
}

/// Copies `from` to `to` until either closes, showing each chunk to `look` first.
fn relay(mut from: TcpStream, mut to: TcpStream, mut look: impl FnMut(&[u8])) {
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 {
            break;
        }
        look(&buf[..n]);
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
}

/// An encoder publishing a solid colour test pattern with a 1 kHz tone, as OBS would:
/// H.264 (keyframe every second) and AAC over RTMP (or SRT).
pub struct Encoder {
    child: Child,
}

impl Drop for Encoder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Encoder {
    /// Starts publishing `color` (ffmpeg colour syntax, e.g. `0x00FF00`) at `size` to `url`.
    pub fn publish(url: &str, color: &str, size: &str) -> Encoder {
        Self::publish_at(url, color, size, 30)
    }

    /// Like [`Encoder::publish`], at `fps` frames per second.
    pub fn publish_at(url: &str, color: &str, size: &str, fps: u32) -> Encoder {
        Self::spawn(url, &format!("color=c={color}:s={size}:r={fps}"), "flv")
    }

    /// Like [`Encoder::publish`], with a sine of `hz` (at ffmpeg's default amplitude, 1/8 of
    /// full scale) as its sound.
    pub fn publish_tone(url: &str, color: &str, size: &str, hz: u32) -> Encoder {
        Self::spawn_with_tone(url, &format!("color=c={color}:s={size}:r=30"), "flv", hz)
    }

    /// The same picture and tone as MPEG-TS over SRT, as a hardware encoder or OBS's SRT
    /// output would send it: `url` is `srt://HOST:PORT?streamid=…`.
    pub fn publish_srt(url: &str, color: &str, size: &str) -> Encoder {
        Self::spawn(url, &format!("color=c={color}:s={size}:r=30"), "mpegts")
    }

    /// Publishes `from`, turning to `to` `at` seconds into the feed (in real time: the
    /// encoder reads its source at its own pace), as FLV (RTMP) or MPEG-TS (SRT) by `url`'s
    /// scheme. The moment the change shows at a receiver, less the moment it was encoded,
    /// is the path's latency.
    pub fn publish_switching(url: &str, from: &str, to: &str, at: Duration) -> Encoder {
        let source = format!(
            "color=c={from}:s=320x240:r=30,drawbox=x=0:y=0:w=iw:h=ih:color={to}:t=fill:enable='gte(t,{})'",
            at.as_secs_f64()
        );
        let format = if url.starts_with("srt:") {
            "mpegts"
        } else {
            "flv"
        };
        Self::spawn(url, &source, format)
    }

    fn spawn(url: &str, source: &str, format: &str) -> Encoder {
        Self::spawn_with_tone(url, source, format, 1000)
    }

    fn spawn_with_tone(url: &str, source: &str, format: &str, hz: u32) -> Encoder {
        let child = Command::new("ffmpeg")
            .args(["-v", "error", "-re", "-f", "lavfi", "-i"])
            .arg(source)
            .args(["-f", "lavfi", "-i"])
            .arg(format!("sine=frequency={hz}:sample_rate=48000"))
            .args([
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-tune",
                "zerolatency",
                "-g",
                "30",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-b:a",
                "96k",
                "-f",
                format,
            ])
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ffmpeg starts (install it with scripts/install-deps.sh)");
        Encoder { child }
    }

    /// Sends a signal (`STOP` freezes it, `CONT` resumes it).
    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([format!("-{sig}"), self.child.id().to_string()])
            .status();
    }

    /// Waits up to `timeout` for the encoder to exit (its connection was closed): whether
    /// it did, and how long that took. Async, so an in-process control plane keeps serving.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<Duration> {
        let t0 = std::time::Instant::now();
        while t0.elapsed() < timeout {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Some(t0.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }
}

/// nginx with its RTMP module (the local stack's receiver, `scripts/local/nginx-rtmp.conf.in`):
/// a real RTMP server encoders publish to and players — a node pulling a source — play from.
pub struct RtmpServer {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Drop for RtmpServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl RtmpServer {
    /// Starts nginx-rtmp on a free port and waits until it listens.
    pub fn start() -> RtmpServer {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("sm-nginx-rtmp-{port}"));
        let mut server = RtmpServer {
            port,
            dir,
            child: None,
        };
        server.restart();
        server
    }

    /// `rtmp://127.0.0.1:PORT/live/{name}`.
    pub fn url(&self, name: &str) -> String {
        format!("rtmp://127.0.0.1:{}/live/{name}", self.port)
    }

    /// Kills the server (every publisher and player loses its connection).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server (again) on its port and waits until it listens.
    pub fn restart(&mut self) {
        self.stop();
        std::fs::create_dir_all(&self.dir).expect("nginx directory");
        let template = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/local/nginx-rtmp.conf.in"),
        )
        .expect("the nginx-rtmp template");
        // One process: killing it closes every connection at once, and no worker outlives
        // it holding the port a restart needs.
        let conf = template
            .replace("@PREFIX@", &self.dir.display().to_string())
            .replace("@PORT@", &self.port.to_string())
            + "\nmaster_process off;\n";
        let conf_path = self.dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("nginx.conf");
        let child = Command::new("nginx")
            .arg("-c")
            .arg(&conf_path)
            .arg("-p")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts (with libnginx-mod-rtmp)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "nginx-rtmp did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
