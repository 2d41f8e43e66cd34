//! What a live layer shows, whatever feeds it (a published key's feed, a pulled stream): the
//! newest frame of the decoder its connecting task handed over, the last frame held for a
//! moment when the decoder stops delivering, then the slate.
//!
//! The connecting task (a tokio task for feeds, a thread for pulled streams) hands decoders
//! over a channel; the render thread takes them at the next frame, so it never waits on a
//! connection. Replaced decoders go back to their owner to be torn down off this thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::ingest::slate;
use super::video::AppsinkSource;
use crate::compose::FrameSource;
use crate::compose::blend::blend_sprite;
use crate::compose::canvas::{Canvas, PlanarView};
use crate::compose::sprite::{Parity, Sprite};
use crate::compose::yuv::BLACK;

/// A source that produced no new frame for this long shows the slate instead of its last frame.
const HOLD_LAST_FRAME: Duration = Duration::from_secs(2);

/// The decoder on air, its freshness, and the slate.
pub struct LiveSlot {
    /// The layer's box, shared with the connecting task so a new decoder starts at it.
    pub size: Arc<Mutex<(u32, u32)>>,
    /// Whether the source is heard (a ladder mutes the rungs not on air), shared with the
    /// connecting task so a new decoder starts muted when it should.
    pub audible: Arc<AtomicBool>,
    decoder: Option<AppsinkSource>,
    incoming: mpsc::Receiver<AppsinkSource>,
    frames_seen: u64,
    fresh_at: Instant,
    /// When the decoder last delivered a new frame (for a fallback ladder); `None` before one.
    last_new: Option<Instant>,
    slate: Option<Canvas>,
}

impl LiveSlot {
    /// A slot for a `width`×`height` box, and where the connecting task hands decoders in.
    pub fn new(width: u32, height: u32) -> (Self, mpsc::Sender<AppsinkSource>) {
        let (to_slot, incoming) = mpsc::channel();
        let slot = LiveSlot {
            size: Arc::new(Mutex::new((width, height))),
            audible: Arc::new(AtomicBool::new(true)),
            decoder: None,
            incoming,
            frames_seen: 0,
            fresh_at: Instant::now(),
            last_new: None,
            slate: None,
        };
        (slot, to_slot)
    }

    /// Puts on air the decoders handed over since the last frame, each at the box's size and
    /// muted as the source is; `retire` gets the ones replaced. Whether one came.
    pub fn take_handed_over(&mut self, mut retire: impl FnMut(AppsinkSource)) -> bool {
        let mut came = false;
        while let Ok(mut d) = self.incoming.try_recv() {
            let (w, h) = *self.size.lock();
            d.set_size(w, h);
            d.set_muted(!self.audible.load(Ordering::Relaxed));
            if let Some(old) = self.decoder.replace(d) {
                retire(old);
            }
            self.frames_seen = 0;
            came = true;
        }
        came
    }

    /// Takes the decoder's newest frame and notes whether it is new; the decoder on air.
    pub fn pull(&mut self, now: Instant) -> Option<&AppsinkSource> {
        let d = self.decoder.as_mut()?;
        d.pull();
        if d.frames() != self.frames_seen {
            self.frames_seen = d.frames();
            self.fresh_at = now;
            self.last_new = Some(now);
        }
        self.decoder.as_ref()
    }

    /// Frames the decoder on air has delivered.
    pub fn frames_seen(&self) -> u64 {
        self.frames_seen
    }

    /// How long since the decoder on air delivered a new frame.
    pub fn silent_for(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.fresh_at)
    }

    /// When the source last delivered a new frame.
    pub fn last_new(&self) -> Option<Instant> {
        self.last_new
    }

    /// The decoder's frame while it is fresh enough to hold, else the slate.
    pub fn view(&mut self, now: Instant) -> Option<PlanarView<'_>> {
        let held = self.frames_seen > 0 && self.silent_for(now) < HOLD_LAST_FRAME;
        if held && self.decoder.as_ref().is_some_and(|d| d.view().is_some()) {
            return self.decoder.as_ref().and_then(AppsinkSource::view);
        }
        self.prepare_slate();
        self.slate.as_ref().map(Canvas::view)
    }

    /// The layer's box changed.
    pub fn set_size(&mut self, width: u32, height: u32) {
        *self.size.lock() = (width, height);
        if let Some(d) = &mut self.decoder {
            d.set_size(width, height);
        }
    }

    /// Whether the source is heard.
    pub fn set_audible(&mut self, audible: bool) {
        if audible != self.audible.swap(audible, Ordering::Relaxed)
            && let Some(d) = &self.decoder
        {
            d.set_muted(!audible);
        }
    }

    /// Makes the slate for the current box size, if it is not made yet.
    fn prepare_slate(&mut self) {
        let (w, h) = *self.size.lock();
        let stale = self
            .slate
            .as_ref()
            .is_none_or(|c| (c.width, c.height) != (w as usize, h as usize));
        if stale {
            let mut c = Canvas::new(w as usize, h as usize, BLACK);
            let sprite = Sprite::from_rgba(&slate(w, h), Parity::of(0, 0));
            blend_sprite(&mut c, &sprite, 0, 0, 255);
            self.slate = Some(c);
        }
    }
}
