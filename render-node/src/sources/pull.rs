//! A pulled live source: a stream the node fetches itself (`{"pull": "rtmp://…"}`, SRT, an
//! MP4 over HTTP(S)), shown like an ingest feed — its newest frame, the last one held for a
//! moment when it stops, then the slate — and reconnected by itself with backoff.
//!
//! A thread per source connects: it checks the URL against the media policy (literal and
//! resolved address) before every attempt, starts a guarded decoder (so whatever the
//! decoder opens besides is checked too, see [`super::guard`]) and hands it to the layer.
//! The render thread only takes the newest frame; when the decoder is over (the server
//! closed, an error, no picture for a while) it asks the thread for a new one and keeps
//! showing the old one's last frame until it comes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use shared::backoff::{Backoff, Policy};
use shared::media_url::{MediaPolicy, UrlUse};
use shared::tenant_text::mask_output_url;

use super::OnSourceError;
use super::guard::check_before_open;
use super::live_slot::LiveSlot;
use super::video::{AppsinkSource, MovingKind};
use crate::compose::FrameSource;
use crate::compose::canvas::PlanarView;
use crate::pipeline::audio::AudioPort;

/// A connected source with no new frame for this long is given up and reconnected: a
/// server that vanished without closing its connection never says so.
const SILENT_FOR: Duration = Duration::from_secs(5);
/// A connection that shows no picture at all for this long is given up too.
const NO_PICTURE_FOR: Duration = Duration::from_secs(10);
/// Reconnect delays: quick at first (a server restarting is back in a second or two), at
/// most 5 s apart (a pulled source may come back at any moment; an attempt is cheap).
const RETRY: Policy = Policy {
    first: Duration::from_millis(250),
    max: Duration::from_secs(5),
    max_attempts: None,
};

/// What a pulled layer asks for.
#[derive(Clone)]
pub struct PullRequest {
    pub url: String,
    pub looping: bool,
    /// `None` trusts every URL (the standalone command).
    pub policy: Option<MediaPolicy>,
    /// The layer's box (even sizes).
    pub width: u32,
    pub height: u32,
    /// Where its audio joins the output, when it is mixed.
    pub audio: Option<AudioPort>,
    /// Told when a connected decoder fails (the tenant reads a generic text).
    pub on_error: OnSourceError,
    /// Source pixels cut off each side (the layer's crop effects).
    pub crop: shared::effect::Crop,
}

/// What the layer tells the connecting thread.
enum Wish {
    /// The decoder on air is over: connect again.
    Reconnect,
    /// A decoder replaced by a newer one, to tear down off the render thread.
    Retire(Box<AppsinkSource>),
}

/// A pulled stream as a layer.
pub struct PulledSource {
    name: String,
    slot: LiveSlot,
    /// When the decoder on air was handed over.
    decoder_since: Instant,
    /// A reconnect was asked for the decoder on air.
    asked: bool,
    wishes: mpsc::Sender<Wish>,
}

impl PulledSource {
    /// Starts connecting to `req.url`.
    pub fn start(req: PullRequest) -> Self {
        let name = format!("pull:{}", mask_output_url(&req.url));
        let (slot, to_slot) = LiveSlot::new(req.width, req.height);
        let (wishes, wished) = mpsc::channel();
        let (s, a, n) = (slot.size.clone(), slot.audible.clone(), name.clone());
        let spawned = std::thread::Builder::new()
            .name("pull-source".into())
            .spawn(move || connect_loop(req, n, s, a, to_slot, wished));
        if let Err(e) = spawned {
            tracing::error!(source = %name, error = %e, "cannot start a pulled source's thread");
        }
        PulledSource {
            name,
            slot,
            decoder_since: Instant::now(),
            asked: false,
            wishes,
        }
    }
}

impl FrameSource for PulledSource {
    fn set_size(&mut self, width: u32, height: u32) {
        self.slot.set_size(width, height);
    }

    fn frame(&mut self) -> Option<PlanarView<'_>> {
        let now = Instant::now();
        let wishes = &self.wishes;
        if self.slot.take_handed_over(|old| {
            let _ = wishes.send(Wish::Retire(Box::new(old)));
        }) {
            self.decoder_since = now;
            self.asked = false;
        }
        let ended = self.slot.pull(now).map(AppsinkSource::is_over);
        if let Some(ended) = ended {
            let seen = self.slot.frames_seen();
            let over = ended
                || (seen == 0 && now.duration_since(self.decoder_since) > NO_PICTURE_FOR)
                || (seen > 0 && self.slot.silent_for(now) > SILENT_FOR);
            if over && !self.asked {
                self.asked = true;
                tracing::info!(source = %self.name, "pulled source over; reconnecting");
                let _ = self.wishes.send(Wish::Reconnect);
            }
        }
        self.slot.view(now)
    }

    fn describe(&self) -> String {
        self.name.clone()
    }

    fn fresh_at(&self) -> Option<Instant> {
        self.slot.last_new()
    }

    fn set_audible(&mut self, audible: bool) {
        self.slot.set_audible(audible);
    }
}

/// Connects, hands the decoder over, waits until the layer says it is over, and connects
/// again after a backoff delay; ends when the layer is gone (its channels close).
fn connect_loop(
    req: PullRequest,
    name: String,
    size: Arc<Mutex<(u32, u32)>>,
    audible: Arc<AtomicBool>,
    to_layer: mpsc::Sender<AppsinkSource>,
    wishes: mpsc::Receiver<Wish>,
) {
    let mut backoff = Backoff::with_policy(RETRY);
    let kind = MovingKind::Uri {
        uri: req.url.clone(),
        looping: req.looping,
    };
    loop {
        let checked = match &req.policy {
            Some(p) => check_before_open(p, "source.pull", &req.url, UrlUse::Pull),
            None => Ok(()),
        };
        let (w, h) = *size.lock();
        let started = checked.and_then(|()| {
            let audio = req.audio.as_ref().and_then(|port| port.add_input().ok());
            AppsinkSource::start(
                &kind,
                req.policy.as_ref(),
                w,
                h,
                30,
                true,
                audio,
                req.on_error.clone(),
                req.crop,
            )
        });
        match started {
            Ok(decoder) => {
                decoder.set_muted(!audible.load(Ordering::Relaxed));
                if to_layer.send(decoder).is_err() {
                    return;
                }
                tracing::info!(source = %name, "pulled source connected");
                // Until the layer finds it over; replaced decoders are dropped here.
                loop {
                    match wishes.recv() {
                        Ok(Wish::Retire(old)) => drop(old),
                        Ok(Wish::Reconnect) => break,
                        Err(_) => return,
                    }
                }
                backoff.reset();
            }
            Err(e) => tracing::debug!(source = %name, error = %e, "pulled source not reachable"),
        }
        let deadline = Instant::now() + backoff.next_delay();
        // Waits out the delay, still tearing down what the layer retires.
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match wishes.recv_timeout(left) {
                Ok(Wish::Retire(old)) => drop(old),
                Ok(Wish::Reconnect) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}
