//! `render-node stream-child`: one stream's own process. It runs the in-process engine for
//! that single stream and talks to its node over the socket it was given as stdin (see
//! [`super::protocol`]): the start, changes, snapshots and stop come in; reports several
//! times a second, audio levels ten times a second, events and answers go out.
//!
//! It dies with its node (`PR_SET_PDEATHSIG`), never dumps core (a tenant's crash must not
//! fill the disk) and, without a cgroup, caps its own address space (`RLIMIT_AS`).

use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use parking_lot::Mutex;
use rustix::process::{Resource, Rlimit, Signal};
use secrecy::SecretString;
use shared::media_url::MediaPolicy;
use shared::status::LiveReport;

use super::protocol::{Answer, FromChild, ToChild, WireError, read_frame, write_frame};
use crate::engine::{Engine, EngineConfig, NodeEvent, StreamHandle, StreamOptions};

/// How often the stream's report goes to the node.
pub const REPORT_EVERY: Duration = Duration::from_millis(250);

/// Exit code of a child whose stream failed by itself (after telling the node why).
pub const EXIT_STREAM_FAILED: i32 = 3;

/// The child's command line.
#[derive(Debug, Clone, clap::Args)]
pub struct ChildArgs {
    /// The stream this process runs (for the process list; the spec comes over the socket).
    #[arg(long)]
    pub stream_id: uuid::Uuid,
    /// The node's pid: a child whose parent is already gone exits at once.
    #[arg(long)]
    pub parent: u32,
    /// `RLIMIT_AS` to set on itself, in bytes (none under a cgroup).
    #[arg(long)]
    pub address_space: Option<u64>,
}

/// The socket end the node writes through, shared by the report, event and answer paths.
type Writer = Arc<Mutex<UnixStream>>;

/// Runs the child until its stream ends or its node goes away.
pub fn run(args: &ChildArgs) -> anyhow::Result<()> {
    rustix::process::set_parent_process_death_signal(Some(Signal::KILL))
        .context("cannot ask to die with the node")?;
    // The node may have died before the line above: then nobody would ever kill us.
    if rustix::process::getppid().map(|p| p.as_raw_nonzero().get() as u32) != Some(args.parent) {
        anyhow::bail!("the node is gone");
    }
    let no_core = Rlimit {
        current: Some(0),
        maximum: Some(0),
    };
    let _ = rustix::process::setrlimit(Resource::Core, no_core);
    if let Some(bytes) = args.address_space {
        let cap = Rlimit {
            current: Some(bytes),
            maximum: Some(bytes),
        };
        rustix::process::setrlimit(Resource::As, cap).context("cannot cap the address space")?;
    }
    let socket: UnixStream = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .context("no socket on stdin")?
        .into();
    let mut reader = socket.try_clone().context("cannot clone the socket")?;
    let writer: Writer = Arc::new(Mutex::new(socket));

    let Some(ToChild::Start {
        spec,
        node_id,
        asset_bases,
        timestamp_offset_ms,
    }) = read_frame(&mut reader).context("no start message")?
    else {
        anyhow::bail!("the first message was not a start");
    };
    let started = Engine::new(EngineConfig {
        node_id,
        policy: Some(MediaPolicy::from_env()?),
        asset_bases,
        asset_key: shared::env::optional("NODE_SECRET").map(SecretString::from),
        ..EngineConfig::default()
    })
    .and_then(|engine| {
        engine.start(
            &spec,
            StreamOptions {
                timestamp_offset_ms,
                ..StreamOptions::default()
            },
        )
    });
    let handle = match started {
        Ok(h) => Arc::new(h),
        Err(e) => {
            send(
                &writer,
                &FromChild::Started {
                    result: Err(WireError::from(&e)),
                },
            );
            return Ok(());
        }
    };
    send(&writer, &FromChild::Started { result: Ok(()) });
    let fps = u64::from(spec.config.target_fps.max(1));
    forward_events(handle.clone(), writer.clone());
    send_reports(handle.clone(), writer.clone(), timestamp_offset_ms, fps);
    send_levels(handle.clone(), writer.clone());
    serve_requests(&handle, &mut reader, &writer);
    Ok(())
}

/// Answers the node's requests until it says stop (or goes away): then stops the stream
/// and sends its final report.
fn serve_requests(handle: &StreamHandle, reader: &mut UnixStream, writer: &Writer) {
    // Until the node is gone or garbles its side: nobody to stream for then.
    while let Ok(Some(msg)) = read_frame::<ToChild>(reader) {
        match msg {
            ToChild::Apply { id, spec } => {
                let result = handle
                    .apply(&spec)
                    .map(|a| Answer::Applied { applied: a.into() })
                    .map_err(|e| WireError::from(&e));
                send(writer, &FromChild::Reply { id, result });
            }
            ToChild::Snapshot { id, quality } => {
                let result = handle
                    .snapshot_jpeg(quality)
                    .map(|jpeg| Answer::Snapshot { jpeg })
                    .map_err(|e| WireError::from(&e));
                send(writer, &FromChild::Reply { id, result });
            }
            ToChild::Stop => break,
            ToChild::Start { .. } => {
                tracing::warn!(stream_id = %handle.stream_id(), "a second start ignored")
            }
        }
    }
    let (report, failure) = match handle.stop() {
        Ok(r) => (r, None),
        Err(e) => (handle.report(), Some(e.to_string())),
    };
    send(
        writer,
        &FromChild::Ended {
            report: Box::new(report),
            failure,
        },
    );
}

/// Sends the stream's events to the node; when the stream fails by itself, tells the node
/// why and exits.
fn forward_events(handle: Arc<StreamHandle>, writer: Writer) {
    let mut events = handle.events();
    std::thread::spawn(move || {
        while let Ok(event) = events.blocking_recv() {
            if let NodeEvent::StreamFailed { message } = &event {
                let report = handle.report();
                send(
                    &writer,
                    &FromChild::Ended {
                        report: Box::new(report),
                        failure: Some(message.clone()),
                    },
                );
                std::process::exit(EXIT_STREAM_FAILED);
            }
            // The end is told by `Ended`, which carries the final report.
            if event != NodeEvent::StreamEnded {
                send(&writer, &FromChild::Event { event });
            }
        }
    });
}

/// Sends the report every [`REPORT_EVERY`], with how far output timestamps have got.
fn send_reports(handle: Arc<StreamHandle>, writer: Writer, offset_ms: u64, fps: u64) {
    std::thread::spawn(move || {
        let stats = handle.frame_stats();
        loop {
            let report: LiveReport = handle.report();
            // Frames pushed plus frames skipped: the render loop's frame number.
            let n = stats.frames.load(Ordering::Relaxed) + stats.dropped.load(Ordering::Relaxed);
            let position_ms = offset_ms + n * 1000 / fps;
            if !send(
                &writer,
                &FromChild::Report {
                    report: Box::new(report),
                    position_ms,
                },
            ) {
                return;
            }
            std::thread::sleep(REPORT_EVERY);
        }
    });
}

/// Sends the audio levels at the rate the node publishes them, so each covers one period.
fn send_levels(handle: Arc<StreamHandle>, writer: Writer) {
    let every = Duration::from_millis(1000 / u64::from(shared::audio::METER_HZ));
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(every);
            let Some(levels) = handle.audio_levels() else {
                continue;
            };
            if !send(&writer, &FromChild::Levels { levels }) {
                return;
            }
        }
    });
}

/// Writes one message; false when the node is gone.
fn send(writer: &Writer, msg: &FromChild) -> bool {
    write_frame(&mut *writer.lock(), msg).is_ok()
}
