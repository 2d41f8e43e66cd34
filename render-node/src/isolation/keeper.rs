//! The node's side of one isolated stream: a keeper thread that starts the stream's
//! process, reads what it says, watches its memory, reaps it, and restarts it at once when
//! it crashes — the new process's output timestamps going on from the old one's. Only the
//! stream's own end (stopped, failed, over budget, crashing in a loop) ends the keeper.
//!
//! The keeper thread also owns the child for `PR_SET_PDEATHSIG`'s sake: the kernel kills
//! a child when the thread that started it ends, and the keeper ends only after its child.

use std::collections::VecDeque;
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use shared::audio::AudioLevels;
use shared::spec::StreamSpec;
use shared::status::{LiveReport, StreamState};

use super::Launch;
use super::limits;
use super::protocol::{Answer, FromChild, ToChild, WireError, write_frame};
use super::spawn::{Spawned, spawn};
use crate::engine::NodeEvent;
use crate::engine::events::EventSink;
use crate::error::{RenderError, Result};
use crate::system::process::resident_bytes_of;
use crate::system::unix_ms;

/// How long a process has to start its stream (loading its media included).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stopping process has to drain and exit before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(8);
/// How often the keeper looks at its child (exit, memory).
const TICK: Duration = Duration::from_millis(20);
/// Crashes within [`CRASH_WINDOW`] after which the stream is failed instead of restarted.
const MAX_CRASHES: usize = 5;
const CRASH_WINDOW: Duration = Duration::from_secs(60);

/// An answer to a request, by request id.
pub(crate) type ReplySlot = (u64, std::result::Result<Answer, WireError>);

/// What the keeper and the stream's handle share.
pub(crate) struct Shared {
    pub(crate) stream_id: uuid::Uuid,
    pub(crate) events: EventSink,
    /// The newest report, with counters carried over restarts.
    pub(crate) report: Mutex<LiveReport>,
    /// The newest audio levels, until the node reads them.
    pub(crate) levels: Mutex<Option<AudioLevels>>,
    /// The newest desired spec: what a restarted process starts with.
    pub(crate) spec: Mutex<StreamSpec>,
    /// The current process's socket, when one is up and started.
    pub(crate) writer: Mutex<Option<UnixStream>>,
    /// The current process's answers; held for the whole of a request, so requests go one
    /// at a time.
    pub(crate) replies: Mutex<Option<Receiver<ReplySlot>>>,
    pub(crate) stopping: AtomicBool,
    /// Why the stream failed, once it has.
    pub(crate) failure: Mutex<Option<String>>,
}

impl Shared {
    pub(crate) fn new(spec: &StreamSpec, node_id: &str) -> Self {
        Shared {
            stream_id: spec.stream_id,
            events: EventSink::new(spec.stream_id),
            report: Mutex::new(LiveReport {
                state: StreamState::Starting,
                node_id: Some(node_id.to_owned()),
                version: spec.version,
                start_time: Some(unix_ms()),
                reported_at: unix_ms(),
                ..LiveReport::default()
            }),
            levels: Mutex::new(None),
            spec: Mutex::new(spec.clone()),
            writer: Mutex::new(None),
            replies: Mutex::new(None),
            stopping: AtomicBool::new(false),
            failure: Mutex::new(None),
        }
    }
}

/// What carries over from one process of a stream to the next.
#[derive(Debug, Clone, Copy, Default)]
struct Carry {
    frames: u64,
    dropped: u64,
    timestamp_offset_ms: u64,
}

/// Where the last report left a process.
#[derive(Debug, Clone, Copy)]
struct Position {
    frames: u64,
    dropped: u64,
    position_ms: u64,
    at: Instant,
}

/// How one process of the stream ended.
enum Outcome {
    StartFailed(RenderError),
    Ended(Option<String>),
    OverBudget(String),
    Crashed { how: String, last: Option<Position> },
}

/// The keeper thread of one stream.
pub(crate) struct Keeper {
    pub(crate) launch: Arc<Launch>,
    pub(crate) shared: Arc<Shared>,
}

impl Keeper {
    /// Runs the stream's processes until the stream ends; the first start's outcome goes
    /// to `first`.
    pub(crate) fn run(self, first: SyncSender<Result<()>>) {
        let mut first = Some(first);
        let mut carry = Carry::default();
        let mut crashes: VecDeque<Instant> = VecDeque::new();
        let id = self.shared.stream_id;
        loop {
            let t0 = Instant::now();
            let outcome = self.run_one(carry, &mut first, t0);
            match outcome {
                Outcome::StartFailed(e) => {
                    match first.take() {
                        Some(tx) => {
                            let _ = tx.send(Err(e));
                        }
                        None => self.fail(format!("the stream could not restart: {e}")),
                    }
                    return;
                }
                Outcome::Ended(None) => return self.finish(),
                Outcome::Ended(Some(m)) | Outcome::OverBudget(m) => return self.fail(m),
                Outcome::Crashed { .. } if self.shared.stopping.load(Ordering::SeqCst) => {
                    return self.finish();
                }
                Outcome::Crashed { how, last } => {
                    let now = Instant::now();
                    crashes.push_back(now);
                    while crashes
                        .front()
                        .is_some_and(|t| now.duration_since(*t) > CRASH_WINDOW)
                    {
                        crashes.pop_front();
                    }
                    if crashes.len() > MAX_CRASHES {
                        return self.fail(format!(
                            "the stream's process crashed {} times within a minute ({how})",
                            crashes.len()
                        ));
                    }
                    if let Some(p) = last {
                        carry.frames += p.frames;
                        carry.dropped += p.dropped;
                        // Time went on while the stream was down: so do its timestamps.
                        carry.timestamp_offset_ms =
                            p.position_ms + p.at.elapsed().as_millis() as u64;
                    }
                    tracing::warn!(stream_id = %id, %how, offset_ms = carry.timestamp_offset_ms, "stream process crashed; restarting it");
                    self.shared.events.send(NodeEvent::SourceError {
                        source: "stream process".into(),
                        message: "the stream's process crashed and was restarted".into(),
                    });
                }
            }
        }
    }

    /// One process of the stream, from spawn to reaping.
    fn run_one(
        &self,
        carry: Carry,
        first: &mut Option<SyncSender<Result<()>>>,
        t0: Instant,
    ) -> Outcome {
        let shared = &self.shared;
        let id = shared.stream_id;
        let launch = &self.launch;
        let spec = shared.spec.lock().clone();
        let Spawned {
            mut child,
            mut writer,
            messages,
            reader,
            cgroup,
        } = match spawn(&launch.exe, id, &launch.budget, launch.cgroups.as_deref()) {
            Ok(s) => s,
            Err(e) => {
                return Outcome::StartFailed(RenderError::Isolation(format!(
                    "cannot start the stream's process: {e}"
                )));
            }
        };
        let pid = child.id();
        let start = ToChild::Start {
            spec: Box::new(spec),
            node_id: launch.node_id.clone(),
            asset_bases: launch.asset_bases.clone(),
            timestamp_offset_ms: carry.timestamp_offset_ms,
        };
        // A failed write shows as the child's exit below.
        let _ = write_frame(&mut writer, &start);
        let (reply_tx, reply_rx) = mpsc::channel::<ReplySlot>();
        let mut reply_tx: Option<Sender<ReplySlot>> = Some(reply_tx);
        let mut reply_rx = Some(reply_rx);
        let mut started = false;
        let mut start_error: Option<WireError> = None;
        let mut ended: Option<Option<String>> = None;
        let mut over_budget: Option<String> = None;
        let mut last: Option<Position> = None;
        let mut stop_sent: Option<Instant> = None;
        let budget = launch.budget.memory_bytes;
        let status: ExitStatus = loop {
            match messages.recv_timeout(TICK) {
                Ok(FromChild::Started { result: Ok(()) }) => {
                    started = true;
                    *shared.writer.lock() = writer.try_clone().ok();
                    *shared.replies.lock() = reply_rx.take();
                    if let Some(tx) = first.take() {
                        let _ = tx.send(Ok(()));
                    } else {
                        tracing::info!(stream_id = %id, pid, took_ms = t0.elapsed().as_millis() as u64, "stream process restarted");
                    }
                }
                Ok(FromChild::Started { result: Err(e) }) => start_error = Some(e),
                Ok(FromChild::Report {
                    report,
                    position_ms,
                }) => {
                    last = Some(Position {
                        frames: report.frame_count,
                        dropped: report.dropped_frames,
                        position_ms,
                        at: Instant::now(),
                    });
                    self.store(*report, carry);
                }
                Ok(FromChild::Event { event }) => shared.events.send(event),
                Ok(FromChild::Levels { levels }) => *shared.levels.lock() = Some(levels),
                Ok(FromChild::Reply { id: rid, result }) => {
                    if let Some(tx) = &reply_tx {
                        let _ = tx.send((rid, result));
                    }
                }
                Ok(FromChild::Ended { report, failure }) => {
                    self.store(*report, carry);
                    ended = Some(failure);
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
            }
            if let Ok(Some(status)) = child.try_wait() {
                break status;
            }
            let stopping = shared.stopping.load(Ordering::SeqCst);
            if stopping && stop_sent.is_none() {
                let _ = write_frame(&mut writer, &ToChild::Stop);
                stop_sent = Some(Instant::now());
            }
            let too_slow = !started && t0.elapsed() > START_TIMEOUT;
            let stuck = stop_sent.is_some_and(|t| t.elapsed() > STOP_TIMEOUT);
            if let Some(rss) = resident_bytes_of(pid)
                && rss > budget
                && over_budget.is_none()
            {
                over_budget = Some(format!(
                    "the stream used {} MiB, over its memory budget of {} MiB, and was stopped",
                    rss >> 20,
                    budget >> 20
                ));
            }
            if too_slow || stuck || over_budget.is_some() {
                let _ = child.kill();
            }
        };
        // Requests waiting on this process are answered now (as disconnected).
        reply_tx.take();
        *shared.writer.lock() = None;
        *shared.replies.lock() = None;
        // The socket is closed with the process: the reader ends, leaving what it read.
        let _ = reader.join();
        while let Ok(msg) = messages.try_recv() {
            match msg {
                FromChild::Ended { report, failure } => {
                    self.store(*report, carry);
                    ended = Some(failure);
                }
                FromChild::Started { result: Err(e) } => start_error = Some(e),
                FromChild::Event { event } => shared.events.send(event),
                _ => {}
            }
        }
        if let Some(dir) = &cgroup {
            if over_budget.is_none() && limits::oom_killed(dir) {
                over_budget = Some(format!(
                    "the stream went over its memory budget of {} MiB and was stopped",
                    budget >> 20
                ));
            }
            limits::remove_group(dir);
        }
        if let Some(m) = over_budget {
            return Outcome::OverBudget(m);
        }
        if let Some(e) = start_error {
            return Outcome::StartFailed(e.into());
        }
        if let Some(failure) = ended {
            return Outcome::Ended(failure);
        }
        if !started {
            return Outcome::StartFailed(RenderError::Isolation(format!(
                "the stream's process ended before starting ({})",
                describe(status)
            )));
        }
        Outcome::Crashed {
            how: describe(status),
            last,
        }
    }

    /// Takes a process's report as the stream's, its counters carried over restarts.
    fn store(&self, mut r: LiveReport, carry: Carry) {
        let mut current = self.shared.report.lock();
        r.frame_count += carry.frames;
        r.dropped_frames += carry.dropped;
        r.start_time = current.start_time;
        r.node_id = current.node_id.clone();
        // A restarted process starting up is the same stream, still on air.
        if r.state == StreamState::Starting && current.state == StreamState::Live {
            r.state = StreamState::Live;
        }
        *current = r;
    }

    fn fail(&self, message: String) {
        {
            let mut r = self.shared.report.lock();
            r.state = StreamState::Failed;
            r.reason = Some(message.clone());
            r.fps = 0.0;
            r.reported_at = unix_ms();
        }
        *self.shared.failure.lock() = Some(message.clone());
        self.shared.events.send(NodeEvent::StreamFailed { message });
    }

    fn finish(&self) {
        {
            let mut r = self.shared.report.lock();
            r.state = StreamState::Idle;
            r.fps = 0.0;
            r.reported_at = unix_ms();
        }
        self.shared.events.send(NodeEvent::StreamEnded);
    }
}

/// How a process ended, for logs and failure reasons.
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("signal {sig}"),
        _ => "unknown end".into(),
    }
}
