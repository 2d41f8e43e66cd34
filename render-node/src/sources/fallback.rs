//! A live layer's fallback ladder: which rung is on air, decided once per output frame.
//!
//! Every rung (the primary feed, backup feeds, a slate last) runs all the time, so a
//! switch is instant: the compositor keeps its frame clock and simply draws another rung's
//! newest frame. A rung is alive while it delivered a frame within `stall`; the rung on
//! air that stops being alive is replaced by the next alive rung down the ladder, and a
//! higher rung takes over again once it has been alive for `recover` without a gap (a
//! picture replaces a slate at once: anything beats a placeholder). Only the rung on air is
//! heard. Switches become `layer:source` events; the ladder's state goes into the stream's
//! report.
//!
//! [`Ladder`] holds the rules without any pixels, so they are tested on a fake clock;
//! [`FallbackSource`] is the [`FrameSource`] the compositor draws; [`StillSource`] is a
//! slate rung.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use image::RgbaImage;
use shared::fallback::{LayerSourceStatus, RungStatus};
use uuid::Uuid;

use crate::compose::FrameSource;
use crate::compose::blend::{blend_frame, blend_sprite};
use crate::compose::canvas::{Canvas, PlanarView};
use crate::compose::sprite::{Parity, Sprite};
use crate::compose::yuv::BLACK;

/// Where a ladder reports to (the stream's events, implemented by the engine): sources
/// know nothing of the engine above them.
pub trait LadderReports: Send + Sync {
    /// The state of `status.layer_id`'s ladder (loaded as `load`), for the stream's report.
    fn state(&self, load: u64, status: LayerSourceStatus);
    /// The ladder switched from rung `previous` because of `reason`.
    fn switched(&self, previous: usize, reason: &str, status: LayerSourceStatus);
    /// The ladder (loaded as `load`) left the air.
    fn gone(&self, layer_id: Uuid, load: u64);
}

/// How often the ladder's state is written for the report (switches are written at once).
const STATE_EVERY: Duration = Duration::from_millis(250);

/// Tells one load of a ladder from the next load of the same layer.
static LOADS: AtomicU64 = AtomicU64::new(0);

/// A ladder's timings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    /// No new frame for this long: the rung has stalled.
    pub stall: Duration,
    /// A higher rung must be alive this long without a gap to be taken back.
    pub recover: Duration,
    /// Crossfade on a switch; zero cuts.
    pub crossfade: Duration,
}

/// What the ladder knows of one rung.
#[derive(Debug, Clone, Default)]
struct RungState {
    /// A slate: always alive.
    still: bool,
    /// When its last new frame came.
    fresh: Option<Instant>,
    /// Alive without a gap since (its first frame after the last stall).
    healthy_since: Option<Instant>,
}

/// The switching rules, without pixels.
#[derive(Debug, Clone)]
pub struct Ladder {
    timings: Timings,
    rungs: Vec<RungState>,
    active: usize,
    created: Instant,
    switches: u64,
}

/// A switch the ladder decided: to which rung, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switch {
    pub from: usize,
    pub to: usize,
    pub reason: &'static str,
}

impl Ladder {
    /// A ladder of rungs (`true`: a slate), starting on the primary at `now`.
    pub fn new(stills: &[bool], timings: Timings, now: Instant) -> Self {
        Ladder {
            timings,
            rungs: stills
                .iter()
                .map(|&still| RungState {
                    still,
                    ..RungState::default()
                })
                .collect(),
            active: 0,
            created: now,
            switches: 0,
        }
    }

    /// The rung on air.
    pub fn active(&self) -> usize {
        self.active
    }

    fn alive(&self, i: usize, now: Instant) -> bool {
        let r = &self.rungs[i];
        r.still
            || r.fresh
                .is_some_and(|t| now.saturating_duration_since(t) <= self.timings.stall)
    }

    /// Records when rung `i` last delivered a new frame, as seen at `now`.
    pub fn observe(&mut self, i: usize, fresh: Option<Instant>, now: Instant) {
        self.rungs[i].fresh = fresh;
        let alive = self.alive(i, now);
        let r = &mut self.rungs[i];
        if !alive {
            r.healthy_since = None;
        } else if r.healthy_since.is_none() {
            r.healthy_since = Some(fresh.unwrap_or(now));
        }
    }

    /// Decides at `now` (after every rung was observed) whether to switch, and does.
    pub fn decide(&mut self, now: Instant) -> Option<Switch> {
        let a = self.active;
        let on_still = self.rungs[a].still;
        // Counted up to its newest frame, not to now: a rung that went quiet a moment ago
        // is still "alive" for `stall`, but those quiet moments prove nothing.
        let healthy_for = |r: &RungState| match (r.healthy_since, r.fresh) {
            (Some(since), Some(fresh)) => fresh.saturating_duration_since(since),
            _ => Duration::ZERO,
        };
        let feed_alive = |l: &Self, i: usize| !l.rungs[i].still && l.alive(i, now);
        // Back up the ladder: a higher feed alive long enough (at once over a slate).
        let up = (0..a).find(|&i| {
            feed_alive(self, i) && (on_still || healthy_for(&self.rungs[i]) >= self.timings.recover)
        });
        let (to, reason) = if let Some(i) = up {
            (i, if on_still { "picture" } else { "recovered" })
        } else if self.alive(a, now)
            // The primary gets a moment to produce its first frame before it counts as
            // stalled, so a stream does not open on a fallback.
            || (self.rungs[a].fresh.is_none()
                && now.saturating_duration_since(self.created) <= self.timings.stall)
        {
            return None;
        } else if let Some(i) = (a + 1..self.rungs.len())
            .find(|&i| self.alive(i, now))
            .or_else(|| (0..a).find(|&i| feed_alive(self, i)))
        {
            (i, "stalled")
        } else {
            return None;
        };
        self.active = to;
        self.switches += 1;
        Some(Switch {
            from: a,
            to,
            reason,
        })
    }

    /// Each rung's health at `now`, named by `names`.
    fn status(&self, layer_id: Uuid, names: &[String], now: Instant) -> LayerSourceStatus {
        LayerSourceStatus {
            layer_id,
            active: self.active,
            active_source: names[self.active].clone(),
            rungs: self
                .rungs
                .iter()
                .enumerate()
                .map(|(i, r)| RungStatus {
                    source: names[i].clone(),
                    healthy: self.alive(i, now),
                    last_frame_ms: r
                        .fresh
                        .filter(|_| !r.still)
                        .map(|t| now.saturating_duration_since(t).as_millis() as u64),
                })
                .collect(),
            switches: self.switches,
        }
    }
}

/// A slate rung: a still picture fitted to the layer's box.
pub struct StillSource {
    name: String,
    image: Arc<RgbaImage>,
    canvas: Option<Canvas>,
    size: (u32, u32),
}

impl StillSource {
    /// A slate showing `image` (scaled to the box), called `name` in status and events.
    pub fn new(name: String, image: Arc<RgbaImage>, width: u32, height: u32) -> Self {
        StillSource {
            name,
            image,
            canvas: None,
            size: (width, height),
        }
    }
}

impl FrameSource for StillSource {
    fn set_size(&mut self, width: u32, height: u32) {
        if (width, height) != self.size {
            self.size = (width, height);
            self.canvas = None;
        }
    }

    fn frame(&mut self) -> Option<PlanarView<'_>> {
        let (w, h) = self.size;
        let canvas = self.canvas.get_or_insert_with(|| {
            let mut c = Canvas::new(w as usize, h as usize, BLACK);
            let fitted = if (self.image.width(), self.image.height()) == (w, h) {
                self.image.as_ref().clone()
            } else {
                image::imageops::resize(
                    self.image.as_ref(),
                    w.max(1),
                    h.max(1),
                    image::imageops::FilterType::Triangle,
                )
            };
            blend_sprite(
                &mut c,
                &Sprite::from_rgba(&fitted, Parity::of(0, 0)),
                0,
                0,
                255,
            );
            c
        });
        Some(canvas.view())
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

/// One rung as the layer holds it.
pub struct Rung {
    /// `ingest:{keyId}`, `slate:default`, ...
    pub name: String,
    pub source: Box<dyn FrameSource>,
    /// A slate: always alive.
    pub still: bool,
}

/// An ongoing crossfade from a rung that left the air.
#[derive(Debug, Clone, Copy)]
struct Fade {
    from: usize,
    start: Instant,
}

/// A live layer with a fallback ladder, as the compositor draws it.
pub struct FallbackSource {
    layer_id: Uuid,
    load: u64,
    rungs: Vec<Rung>,
    names: Vec<String>,
    ladder: Ladder,
    fade: Option<Fade>,
    /// Where a crossfade is drawn.
    mix: Option<Canvas>,
    events: Arc<dyn LadderReports>,
    stated_at: Option<Instant>,
}

impl FallbackSource {
    /// A ladder over `rungs` (the primary first) for `layer_id`, on air on the primary; only
    /// the primary is heard.
    pub fn new(
        layer_id: Uuid,
        mut rungs: Vec<Rung>,
        timings: Timings,
        events: Arc<dyn LadderReports>,
    ) -> Self {
        for (i, r) in rungs.iter_mut().enumerate() {
            r.source.set_audible(i == 0);
        }
        let stills: Vec<bool> = rungs.iter().map(|r| r.still).collect();
        FallbackSource {
            layer_id,
            load: LOADS.fetch_add(1, Ordering::Relaxed),
            names: rungs.iter().map(|r| r.name.clone()).collect(),
            rungs,
            ladder: Ladder::new(&stills, timings, Instant::now()),
            fade: None,
            mix: None,
            events,
            stated_at: None,
        }
    }

    /// Observes every rung (taking their newest frames), switches if the rules say so,
    /// and writes the state for the report now and then.
    fn step(&mut self, now: Instant) {
        for (i, r) in self.rungs.iter_mut().enumerate() {
            let _ = r.source.frame();
            self.ladder.observe(i, r.source.fresh_at(), now);
        }
        let switched = self.ladder.decide(now);
        if let Some(s) = switched {
            self.rungs[s.from].source.set_audible(false);
            self.rungs[s.to].source.set_audible(true);
            self.fade = (!self.ladder.timings.crossfade.is_zero()).then_some(Fade {
                from: s.from,
                start: now,
            });
            let status = self.ladder.status(self.layer_id, &self.names, now);
            self.events.state(self.load, status.clone());
            self.events.switched(s.from, s.reason, status);
            self.stated_at = Some(now);
        } else if self
            .stated_at
            .is_none_or(|t| now.saturating_duration_since(t) >= STATE_EVERY)
        {
            let status = self.ladder.status(self.layer_id, &self.names, now);
            self.events.state(self.load, status);
            self.stated_at = Some(now);
        }
    }

    /// The fade's progress at `now` (0..=255), or `None` when there is none (any more).
    fn fade_level(&mut self, now: Instant) -> Option<(usize, u8)> {
        let f = self.fade?;
        let d = self.ladder.timings.crossfade;
        let t = now.saturating_duration_since(f.start);
        if t >= d || f.from == self.ladder.active() {
            self.fade = None;
            return None;
        }
        Some((f.from, (t.as_secs_f64() / d.as_secs_f64() * 255.0) as u8))
    }
}

impl FrameSource for FallbackSource {
    fn set_size(&mut self, width: u32, height: u32) {
        for r in &mut self.rungs {
            r.source.set_size(width, height);
        }
    }

    fn frame(&mut self) -> Option<PlanarView<'_>> {
        self.frame_at(Instant::now())
    }

    fn describe(&self) -> String {
        format!("ladder:{}", self.names[self.ladder.active()])
    }
}

impl FallbackSource {
    /// [`FrameSource::frame`] at `now` (tests drive the clock).
    fn frame_at(&mut self, now: Instant) -> Option<PlanarView<'_>> {
        self.step(now);
        let active = self.ladder.active();
        if let Some((from, level)) = self.fade_level(now) {
            let (lo, hi) = self.rungs.split_at_mut(active.max(from));
            let (a, b) = if from < active {
                (&mut lo[from], &mut hi[0])
            } else {
                (&mut hi[0], &mut lo[active])
            };
            // `a` leaves, `b` arrives; frames of different sizes (a box just resized) cut.
            if let (Some(old), Some(new)) = (a.source.frame(), b.source.frame())
                && (old.width, old.height) == (new.width, new.height)
            {
                let mix = self
                    .mix
                    .get_or_insert_with(|| Canvas::new(new.width, new.height, BLACK));
                if (mix.width, mix.height) != (new.width, new.height) {
                    *mix = Canvas::new(new.width, new.height, BLACK);
                }
                blend_frame(mix, &old, 0, 0, 255);
                blend_frame(mix, &new, 0, 0, level);
                return self.mix.as_ref().map(Canvas::view);
            }
        }
        self.rungs[active].source.frame()
    }
}

impl Drop for FallbackSource {
    fn drop(&mut self) {
        self.events.gone(self.layer_id, self.load);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn timings() -> Timings {
        Timings {
            stall: 1000 * MS,
            recover: 3000 * MS,
            crossfade: Duration::ZERO,
        }
    }

    /// Runs a ladder over `frames(rung, t_ms) -> delivered a frame at t`, one step per 33 ms,
    /// and returns the switches with their times.
    fn run(
        stills: &[bool],
        until_ms: u64,
        frames: impl Fn(usize, u64) -> bool,
    ) -> Vec<(u64, Switch)> {
        let t0 = Instant::now();
        let mut ladder = Ladder::new(stills, timings(), t0);
        let mut fresh = vec![None; stills.len()];
        let mut out = Vec::new();
        let mut t = 0;
        while t <= until_ms {
            let now = t0 + Duration::from_millis(t);
            for (i, f) in fresh.iter_mut().enumerate() {
                if !stills[i] && frames(i, t) {
                    *f = Some(now);
                }
                ladder.observe(i, *f, now);
            }
            if let Some(s) = ladder.decide(now) {
                out.push((t, s));
            }
            t += 33;
        }
        out
    }

    #[test]
    fn a_stalled_primary_hands_over_and_comes_back_after_recovering() {
        // The primary stops at 2 s and is back at 5 s; the backup runs throughout.
        let primary = |t: u64| !(2000..5000).contains(&t);
        let switches = run(&[false, false, true], 12_000, |i, t| i == 1 || primary(t));
        assert_eq!(switches.len(), 2, "{switches:?}");
        let (t, s) = switches[0];
        assert_eq!((s.from, s.to, s.reason), (0, 1, "stalled"));
        assert!((3000..3100).contains(&t), "stall noticed at {t}");
        let (t, s) = switches[1];
        assert_eq!((s.from, s.to, s.reason), (1, 0, "recovered"));
        assert!((8000..8100).contains(&t), "recovered at {t}");
    }

    #[test]
    fn with_every_feed_down_the_slate_shows_and_a_picture_replaces_it_at_once() {
        let switches = run(&[false, false, true], 6_000, |i, t| {
            i == 0 && !(1000..4000).contains(&t)
        });
        let got: Vec<_> = switches.iter().map(|(_, s)| (s.to, s.reason)).collect();
        assert_eq!(got, vec![(2, "stalled"), (0, "picture")]);
        assert!((4000..4100).contains(&switches[1].0), "{switches:?}");
    }

    #[test]
    fn a_flapping_primary_is_not_taken_back_before_it_has_recovered() {
        // The primary comes back for 2 s at a time, shorter than `recover`.
        let primary = |t: u64| t < 1000 || (t / 2500).is_multiple_of(2);
        let switches = run(&[false, false], 20_000, |i, t| i == 1 || primary(t));
        assert!(
            switches.iter().all(|(_, s)| s.reason != "recovered"),
            "{switches:?}"
        );
    }

    /// A rung of one grey level, delivering a new frame (stamped by the test's clock) on
    /// every call while `on`.
    struct Grey {
        canvas: Canvas,
        on: Arc<std::sync::atomic::AtomicBool>,
        clock: Arc<parking_lot::Mutex<Instant>>,
        fresh: Option<Instant>,
        audible: Arc<std::sync::atomic::AtomicBool>,
    }

    impl FrameSource for Grey {
        fn set_size(&mut self, _: u32, _: u32) {}
        fn frame(&mut self) -> Option<PlanarView<'_>> {
            if self.on.load(Ordering::Relaxed) {
                self.fresh = Some(*self.clock.lock());
            }
            Some(self.canvas.view())
        }
        fn describe(&self) -> String {
            "grey".into()
        }
        fn fresh_at(&self) -> Option<Instant> {
            self.fresh
        }
        fn set_audible(&mut self, audible: bool) {
            self.audible.store(audible, Ordering::Relaxed);
        }
    }

    type Flag = Arc<std::sync::atomic::AtomicBool>;

    fn grey(y: u8, clock: &Arc<parking_lot::Mutex<Instant>>) -> (Rung, Flag, Flag) {
        let on = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let audible = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let canvas = Canvas::new(8, 8, crate::compose::yuv::Yuv { y, u: 128, v: 128 });
        let source = Grey {
            canvas,
            on: on.clone(),
            clock: clock.clone(),
            fresh: None,
            audible: audible.clone(),
        };
        let rung = Rung {
            name: format!("grey:{y}"),
            source: Box::new(source),
            still: false,
        };
        (rung, on, audible)
    }

    /// What a ladder reported, as the engine's event sink would receive it.
    #[derive(Default)]
    struct Recorded {
        state: parking_lot::Mutex<Option<LayerSourceStatus>>,
        switches: parking_lot::Mutex<Vec<(usize, String, LayerSourceStatus)>>,
        gone: parking_lot::Mutex<Option<(Uuid, u64)>>,
    }

    impl LadderReports for Recorded {
        fn state(&self, _load: u64, status: LayerSourceStatus) {
            *self.state.lock() = Some(status);
        }
        fn switched(&self, previous: usize, reason: &str, status: LayerSourceStatus) {
            self.switches
                .lock()
                .push((previous, reason.to_owned(), status));
        }
        fn gone(&self, layer_id: Uuid, load: u64) {
            *self.gone.lock() = Some((layer_id, load));
        }
    }

    #[test]
    fn a_switch_crossfades_moves_the_sound_and_is_reported() {
        let t0 = Instant::now();
        let clock = Arc::new(parking_lot::Mutex::new(t0));
        let (primary, primary_on, primary_heard) = grey(200, &clock);
        let (backup, _, backup_heard) = grey(50, &clock);
        let events = Arc::new(Recorded::default());
        let layer = Uuid::from_u128(7);
        let timings = Timings {
            stall: 100 * MS,
            recover: 3000 * MS,
            crossfade: 400 * MS,
        };
        let mut ladder = FallbackSource::new(layer, vec![primary, backup], timings, events.clone());
        let luma = |l: &mut FallbackSource, at_ms: u64| {
            let now = t0 + Duration::from_millis(at_ms);
            *clock.lock() = now;
            l.frame_at(now).map(|f| f.y[0]).unwrap()
        };
        assert_eq!(luma(&mut ladder, 0), 200);
        assert!(primary_heard.load(Ordering::Relaxed) && !backup_heard.load(Ordering::Relaxed));
        primary_on.store(false, Ordering::Relaxed);
        assert_eq!(luma(&mut ladder, 90), 200, "not stalled yet");
        // The switch: it starts from the old picture, mixes both rungs, ends on the backup.
        assert_eq!(luma(&mut ladder, 150), 200);
        let mid = luma(&mut ladder, 350);
        assert!((110..140).contains(&mid), "half-way luma {mid}");
        let later = luma(&mut ladder, 450);
        assert!(later < mid && later > 50, "fading: {later} after {mid}");
        assert_eq!(luma(&mut ladder, 600), 50);
        assert!(!primary_heard.load(Ordering::Relaxed) && backup_heard.load(Ordering::Relaxed));
        match events.switches.lock().first() {
            Some((previous, reason, status)) => {
                assert_eq!((*previous, reason.as_str()), (0, "stalled"));
                assert_eq!((status.layer_id, status.active), (layer, 1));
                assert!(!status.rungs[0].healthy && status.rungs[1].healthy);
            }
            None => panic!("the switch was not reported"),
        }
        assert_eq!(events.state.lock().as_ref().map(|s| s.active), Some(1));
        drop(ladder);
        assert!(
            events.gone.lock().is_some(),
            "the ladder's end was not reported"
        );
    }

    #[test]
    fn the_primary_gets_a_moment_before_a_stream_opens_on_a_fallback() {
        let switches = run(&[false, false], 3_000, |i, t| i == 1 || t >= 500);
        assert!(switches.is_empty(), "{switches:?}");
        let switches = run(&[false, false], 3_000, |i, _| i == 1);
        assert_eq!(switches.len(), 1);
        assert!(switches[0].0 > 1000, "{switches:?}");
    }
}
