//! Destinations: one branch per RTMP URL or file on the muxer's tee, each isolated.
//!
//! A branch is `errorignore ! queue(leaky) ! sink`. `errorignore` turns the branch's flow
//! errors into OK so the tee keeps feeding the others; the leaky queue keeps a stalled
//! server from blocking them. When a branch's sink posts an error, the branch is removed and
//! rebuilt after a backoff (`shared::backoff`, with a budget of attempts); each destination
//! has its own state, and every change of it is told to the stream's owner.
//!
//! Every connection (the first, one added to a live stream, each retry) goes to an address
//! checked just before it ([`pin`]). What the owner is told about a failure is one generic
//! text: which network error it was (refused, reset, timed out) would make destinations a
//! port scanner of the node's network; the error itself is logged.
//!
//! - [`pin`]: resolving, checking and pinning a destination's address.
//! - [`target`]: what a destination is (RTMP URL, file, nowhere).

pub mod pin;
pub mod target;

pub use self::target::OutputTarget;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use gstreamer as gst;
use gstreamer::prelude::*;
use shared::status::{OutputState, OutputStatus};

use shared::backoff::{Backoff, Policy};
use shared::media_url::MediaPolicy;

use self::pin::{DESTINATION_REFUSED, PinError};
use crate::error::{RenderError, Result, make};

/// What the owner reads when a destination cannot be reached or drops its connection.
pub const CONNECTION_FAILED: &str =
    "could not connect to the destination, or the connection was lost";

/// Told every time a destination changes state (the engine makes it a stream event).
pub type OnOutputChange = Arc<dyn Fn(OutputStatus) + Send + Sync>;

/// How a dropped destination is retried unless the node says otherwise: from 1 s, doubling
/// up to 30 s, given up (`failed`) after 10 failures in a row.
pub const DEFAULT_RETRY: Policy = Policy {
    first: std::time::Duration::from_secs(1),
    max: std::time::Duration::from_secs(30),
    max_attempts: Some(10),
};

struct Branch {
    target: OutputTarget,
    state: OutputState,
    error: Option<String>,
    /// Refused when it was added to a live stream: not a destination the stream lost.
    refused: bool,
    /// The branch in the pipeline, when connected or connecting.
    bin: Option<(gst::Bin, gst::Pad)>,
    /// Failures in a row, and the delay before the next attempt.
    backoff: Backoff,
    retry_at: Option<Instant>,
    /// Bytes the sink was handed (files) or sent (RTMP, from the sink's stats).
    bytes: Arc<AtomicU64>,
    /// The counter's value at the last tick.
    last_bytes: u64,
    /// Bytes over all connections of this destination.
    total: u64,
}

/// All destinations of one stream.
pub struct Outputs {
    pipeline: gst::Pipeline,
    tee: gst::Element,
    branches: Vec<Branch>,
    policy: Policy,
    /// The media policy destinations are checked against (`None`: the operator's own).
    media: Option<MediaPolicy>,
    on_change: OnOutputChange,
}

impl std::fmt::Debug for Outputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outputs")
            .field("count", &self.branches.len())
            .finish()
    }
}

impl Outputs {
    /// No destinations yet.
    pub fn new(
        pipeline: gst::Pipeline,
        tee: gst::Element,
        policy: Policy,
        media: Option<MediaPolicy>,
        on_change: OnOutputChange,
    ) -> Self {
        Outputs {
            pipeline,
            tee,
            branches: Vec::new(),
            policy,
            media,
            on_change,
        }
    }

    /// Adds a destination and connects it now; a destination the policy refuses is an error
    /// (the detail logged, [`DESTINATION_REFUSED`] returned).
    pub fn add(&mut self, target: OutputTarget) -> Result<()> {
        let mut b = self.branch(target);
        self.open(&mut b)?;
        self.push(b);
        Ok(())
    }

    fn branch(&self, target: OutputTarget) -> Branch {
        Branch {
            target,
            state: OutputState::Connecting,
            error: None,
            refused: false,
            bin: None,
            backoff: Backoff::with_policy(self.policy),
            retry_at: None,
            bytes: Arc::default(),
            last_bytes: 0,
            total: 0,
        }
    }

    fn push(&mut self, b: Branch) {
        (self.on_change)(OutputStatus {
            url: b.target.display(),
            state: b.state,
            error: b.error.clone(),
        });
        self.branches.push(b);
    }

    /// Makes the set of RTMP destinations equal to `urls`, leaving others (files) alone.
    pub fn set_rtmp(&mut self, urls: &[String]) {
        let mut i = 0;
        while i < self.branches.len() {
            let keep = match &self.branches[i].target {
                OutputTarget::Rtmp(u) => urls.contains(u),
                _ => true,
            };
            if keep {
                i += 1;
            } else {
                let mut b = self.branches.remove(i);
                self.disconnect(&mut b);
            }
        }
        for u in urls {
            let known = self
                .branches
                .iter()
                .any(|b| matches!(&b.target, OutputTarget::Rtmp(x) if x == u));
            if known {
                continue;
            }
            // Refused on a live stream: listed as failed, the stream goes on (at start, a
            // refused destination fails the start instead).
            let mut b = self.branch(OutputTarget::Rtmp(u.clone()));
            if let Err(e) = self.open(&mut b) {
                b.state = OutputState::Failed;
                b.error = Some(e.to_string());
                b.refused = true;
            }
            self.push(b);
        }
    }

    /// Connects `b` to its checked address. A name with no address now is treated as a
    /// connection that failed (retried after the backoff).
    fn open(&self, b: &mut Branch) -> Result<()> {
        let location = match &b.target {
            OutputTarget::Rtmp(url) => match pin::pin(self.media.as_ref(), url) {
                Ok(location) => Some(location),
                Err(PinError::Unresolved) => {
                    tracing::warn!(url = %b.target.display(), "destination name does not resolve");
                    dropped(b);
                    return Ok(());
                }
                Err(PinError::Refused(detail)) => {
                    tracing::warn!(url = %b.target.display(), %detail, "destination refused");
                    return Err(RenderError::Refused(DESTINATION_REFUSED.into()));
                }
            },
            _ => None,
        };
        self.connect(b, location.as_deref())?;
        b.state = OutputState::Connecting;
        Ok(())
    }

    /// Builds `b`'s branch, its sink connecting to `location` (RTMP: the pinned URL).
    fn connect(&self, b: &mut Branch, location: Option<&str>) -> Result<()> {
        let bin = gst::Bin::new();
        let ignore = make("errorignore")?;
        ignore.set_property("ignore-error", true);
        ignore.set_property("ignore-notlinked", true);
        ignore.set_property("ignore-notnegotiated", false);
        let queue = make("queue")?;
        // Up to 4 s of stream waits for a slow server; older data is dropped, never blocking.
        queue.set_property_from_str("leaky", "downstream");
        queue.set_property("max-size-time", 4_000_000_000u64);
        queue.set_property("max-size-bytes", 0u32);
        queue.set_property("max-size-buffers", 0u32);
        let sink = match &b.target {
            OutputTarget::Rtmp(url) => {
                let s = make("rtmp2sink")?;
                s.set_property("location", location.unwrap_or(url));
                s.set_property("async-connect", true);
                s
            }
            OutputTarget::File(path) => {
                let s = make("filesink")?;
                s.set_property("location", path.to_string_lossy().as_ref());
                s
            }
            OutputTarget::Null => make("fakesink")?,
        };
        sink.set_property("sync", false);
        sink.set_property("async", false);
        if !matches!(b.target, OutputTarget::Rtmp(_)) {
            let bytes = b.bytes.clone();
            if let Some(pad) = sink.static_pad("sink") {
                pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                    if let Some(buf) = info.buffer() {
                        bytes.fetch_add(buf.size() as u64, Ordering::Relaxed);
                    }
                    gst::PadProbeReturn::Ok
                });
            }
        }
        bin.add_many([&ignore, &queue, &sink])
            .map_err(RenderError::gst("assemble an output"))?;
        gst::Element::link_many([&ignore, &queue, &sink])
            .map_err(RenderError::gst("link an output"))?;
        let ghost = gst::GhostPad::with_target(
            &ignore
                .static_pad("sink")
                .ok_or_else(|| RenderError::MissingElement("errorignore sink pad".into()))?,
        )
        .map_err(RenderError::gst("expose an output's input"))?;
        bin.add_pad(&ghost)
            .map_err(RenderError::gst("add an output pad"))?;
        self.pipeline
            .add(&bin)
            .map_err(RenderError::gst("add an output"))?;
        // The branch runs before the tee feeds it: a buffer pushed into a branch still in
        // NULL comes back FLUSHING, which the tee passes upstream, and the whole stream
        // stalls (the encoder's and the frame source's tasks pause) with no error posted.
        let unwind = |bin: &gst::Bin| {
            let _ = bin.set_state(gst::State::Null);
            let _ = self.pipeline.remove(bin);
        };
        if let Err(e) = bin.sync_state_with_parent() {
            unwind(&bin);
            return Err(RenderError::gst("start an output")(e));
        }
        let Some(tee_pad) = self.tee.request_pad_simple("src_%u") else {
            unwind(&bin);
            return Err(RenderError::MissingElement("tee src pad".into()));
        };
        if let Err(e) = tee_pad.link(&ghost) {
            self.tee.release_request_pad(&tee_pad);
            unwind(&bin);
            return Err(RenderError::Pipeline {
                element: b.target.display(),
                message: format!("cannot link output: {e:?}"),
                debug: None,
            });
        }
        // A destination joining a running stream needs a keyframe to start decoding from.
        let _ = ghost.push_event(
            gstreamer_video::UpstreamForceKeyUnitEvent::builder()
                .all_headers(true)
                .build(),
        );
        b.bin = Some((bin, tee_pad));
        b.bytes.store(0, Ordering::Relaxed);
        b.last_bytes = 0;
        Ok(())
    }

    fn disconnect(&self, b: &mut Branch) {
        if let Some((bin, tee_pad)) = b.bin.take() {
            if let Some(peer) = tee_pad.peer() {
                let _ = tee_pad.unlink(&peer);
            }
            self.tee.release_request_pad(&tee_pad);
            let _ = bin.set_state(gst::State::Null);
            let _ = self.pipeline.remove(&bin);
        }
    }

    /// Whether an element belongs to one of the outputs; if so, handles its failure and
    /// returns true (the stream goes on).
    pub fn handle_error(&mut self, src: &gst::Object, message: &str) -> bool {
        let Some(i) = self.branches.iter().position(|b| {
            b.bin.as_ref().is_some_and(|(bin, _)| {
                src.has_as_ancestor(bin) || src == bin.upcast_ref::<gst::Object>()
            })
        }) else {
            return false;
        };
        let mut b = self.branches.remove(i);
        self.disconnect(&mut b);
        tracing::warn!(url = %b.target.display(), error = %message, "destination dropped");
        dropped(&mut b);
        if !matches!(b.target, OutputTarget::Rtmp(_)) {
            b.error = Some(message.to_owned());
        }
        (self.on_change)(OutputStatus {
            url: b.target.display(),
            state: b.state,
            error: b.error.clone(),
        });
        self.branches.insert(i, b);
        true
    }

    /// Retries due destinations (unless `retry` is false: the stream is ending, and a
    /// branch joining after the end of stream passed would never see it) and notices ones
    /// that started sending. Call about every 100 ms.
    pub fn tick(&mut self, retry: bool) {
        let now = Instant::now();
        for i in 0..self.branches.len() {
            let mut b = std::mem::replace(&mut self.branches[i], placeholder());
            if retry && b.retry_at.is_some_and(|t| t <= now) {
                b.retry_at = None;
                match self.open(&mut b) {
                    Ok(()) => {}
                    Err(e) => {
                        b.state = OutputState::Failed;
                        b.error = Some(e.to_string());
                    }
                }
                (self.on_change)(OutputStatus {
                    url: b.target.display(),
                    state: b.state,
                    error: b.error.clone(),
                });
            }
            if let (OutputTarget::Rtmp(_), Some((bin, _))) = (&b.target, &b.bin)
                && let Some(sent) = rtmp_bytes_sent(bin)
            {
                b.bytes.store(sent, Ordering::Relaxed);
            }
            let bytes = b.bytes.load(Ordering::Relaxed);
            // A new connection's counter starts again from zero.
            let delta = bytes.checked_sub(b.last_bytes).unwrap_or(bytes);
            b.last_bytes = bytes;
            b.total += delta;
            if delta > 0 && b.state != OutputState::Active && b.bin.is_some() {
                b.state = OutputState::Active;
                b.backoff.reset();
                b.error = None;
                (self.on_change)(OutputStatus {
                    url: b.target.display(),
                    state: b.state,
                    error: None,
                });
            }
            self.branches[i] = b;
        }
    }

    /// Total bytes handed to all destinations so far, as of the last tick (for the bitrate).
    pub fn bytes_sent(&self) -> u64 {
        self.branches.iter().map(|b| b.total).sum()
    }

    /// Each destination's state, keys masked.
    pub fn statuses(&self) -> Vec<OutputStatus> {
        self.branches
            .iter()
            .map(|b| OutputStatus {
                url: b.target.display(),
                state: b.state,
                error: b.error.clone(),
            })
            .collect()
    }

    /// Whether every destination has failed for good (nothing left to stream to).
    pub fn all_failed(&self) -> bool {
        let mut kept = self.branches.iter().filter(|b| !b.refused).peekable();
        kept.peek().is_some() && kept.all(|b| b.state == OutputState::Failed)
    }
}

/// Marks a branch whose connection failed or dropped: retried after its backoff, or failed
/// for good (files, or the attempts spent).
fn dropped(b: &mut Branch) {
    let delay = b.backoff.next_delay();
    b.error = Some(CONNECTION_FAILED.into());
    let is_file = !matches!(b.target, OutputTarget::Rtmp(_));
    if is_file || b.backoff.exhausted() {
        b.state = OutputState::Failed;
        b.retry_at = None;
    } else {
        b.state = OutputState::Reconnecting;
        b.retry_at = Some(Instant::now() + delay);
    }
}

fn placeholder() -> Branch {
    Branch {
        target: OutputTarget::Null,
        state: OutputState::Failed,
        error: None,
        refused: false,
        bin: None,
        backoff: Backoff::new(),
        retry_at: None,
        bytes: Arc::default(),
        last_bytes: 0,
        total: 0,
    }
}

/// `out-bytes-total` from rtmp2sink's stats.
fn rtmp_bytes_sent(bin: &gst::Bin) -> Option<u64> {
    let sink = bin.iterate_sinks().into_iter().flatten().next()?;
    let stats = sink.property::<Option<gst::Structure>>("stats")?;
    stats.get::<u64>("out-bytes-total").ok()
}
