//! A simulated engine: streams that go live at once and count frames at their spec's frame
//! rate without rendering, encoding or sending anything — no GStreamer, no threads, a few
//! hundred bytes per stream. It lets a fleet load harness run hundreds of nodes with
//! thousands of streams in one process, speaking the real node protocol.
//!
//! What it keeps faithful: versions (a spec is applied only when newer; a new resolution or
//! frame rate "restarts"), pause and resume, the report's counters advancing in real time,
//! and the events a stream's owner acts on (`Live` is implied by the first report, and
//! `StreamEnded` comes on stop).

use std::time::Instant;

use parking_lot::Mutex;
use shared::spec::{DesiredState, StreamSpec};
use shared::status::{LiveReport, StreamState};
use tokio::sync::broadcast;

use super::stream_engine::{RunningStream, StreamEngine};
use super::{Applied, NodeEvent};
use crate::error::{RenderError, Result};
use crate::system::unix_ms;

/// Starts simulated streams.
#[derive(Debug, Clone)]
pub struct SimEngine {
    node_id: String,
}

impl SimEngine {
    /// An engine whose reports name `node_id`.
    pub fn new(node_id: impl Into<String>) -> Self {
        SimEngine {
            node_id: node_id.into(),
        }
    }
}

impl StreamEngine for SimEngine {
    fn start(&self, spec: &StreamSpec) -> Result<Box<dyn RunningStream>> {
        spec.config
            .validate()
            .map_err(|e| RenderError::InvalidSpec(e.to_string()))?;
        let (events, _) = broadcast::channel(16);
        Ok(Box::new(SimStream {
            node_id: self.node_id.clone(),
            start_time: unix_ms(),
            events,
            state: Mutex::new(SimState {
                spec: spec.clone(),
                clock: FrameClock::new(spec.config.target_fps),
                stopped: false,
            }),
        }))
    }
}

/// Frames counted at a frame rate from a start instant, carrying the count over when the
/// rate changes.
#[derive(Debug, Clone, Copy)]
struct FrameClock {
    since: Instant,
    fps: u32,
    /// Frames counted before `since` (at earlier rates).
    before: u64,
}

impl FrameClock {
    fn new(fps: u32) -> Self {
        FrameClock {
            since: Instant::now(),
            fps,
            before: 0,
        }
    }

    /// Frames out by `now`.
    fn frames_at(&self, now: Instant) -> u64 {
        let secs = now.saturating_duration_since(self.since).as_secs_f64();
        self.before + (secs * f64::from(self.fps)) as u64
    }

    /// Counts on at a new rate from `now`.
    fn set_fps(&mut self, fps: u32, now: Instant) {
        self.before = self.frames_at(now);
        self.since = now;
        self.fps = fps;
    }
}

struct SimState {
    spec: StreamSpec,
    clock: FrameClock,
    stopped: bool,
}

/// One simulated stream.
struct SimStream {
    node_id: String,
    start_time: i64,
    events: broadcast::Sender<NodeEvent>,
    state: Mutex<SimState>,
}

impl SimStream {
    fn report_of(&self, s: &SimState, now: Instant) -> LiveReport {
        let state = match (s.stopped, s.spec.desired) {
            (true, _) => StreamState::Idle,
            (false, DesiredState::Paused) => StreamState::Paused,
            (false, _) => StreamState::Live,
        };
        LiveReport {
            state,
            node_id: Some(self.node_id.clone()),
            version: s.spec.version,
            fps: if s.stopped {
                0.0
            } else {
                f64::from(s.clock.fps)
            },
            frame_count: s.clock.frames_at(now),
            bitrate: f64::from(s.spec.config.bitrate.kbps),
            start_time: Some(self.start_time),
            reported_at: unix_ms(),
            ..LiveReport::default()
        }
    }
}

impl RunningStream for SimStream {
    fn apply(&self, spec: &StreamSpec) -> Result<Applied> {
        spec.config
            .validate()
            .map_err(|e| RenderError::InvalidSpec(e.to_string()))?;
        let mut s = self.state.lock();
        if s.stopped {
            return Err(RenderError::Stopped);
        }
        if spec.version <= s.spec.version {
            return Ok(Applied::Ignored);
        }
        let now = Instant::now();
        let old = &s.spec.config;
        let restarted =
            spec.config.resolution != old.resolution || spec.config.target_fps != old.target_fps;
        s.clock.set_fps(spec.config.target_fps, now);
        s.spec = spec.clone();
        Ok(if restarted {
            Applied::Restarted
        } else {
            Applied::AtFrame(s.clock.frames_at(now))
        })
    }

    fn report(&self) -> LiveReport {
        let s = self.state.lock();
        self.report_of(&s, Instant::now())
    }

    fn events(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }

    fn stop(&self) -> Result<LiveReport> {
        let report = {
            let mut s = self.state.lock();
            let now = Instant::now();
            // Frozen at the frames counted so far.
            s.clock = FrameClock {
                since: now,
                fps: 0,
                before: s.clock.frames_at(now),
            };
            s.stopped = true;
            self.report_of(&s, now)
        };
        let _ = self.events.send(NodeEvent::StreamEnded);
        Ok(report)
    }
}

/// An empty running stream's spec at `version` and `fps`, for tests.
#[cfg(test)]
pub(crate) fn test_spec(version: i64, fps: u32) -> StreamSpec {
    StreamSpec {
        stream_id: uuid::Uuid::from_u128(9),
        tenant_id: "acme".into(),
        version,
        desired: DesiredState::Running,
        config: shared::stream_config::StreamConfig {
            target_fps: fps,
            ..Default::default()
        },
        scenes: Vec::new(),
        active_scene_id: uuid::Uuid::nil(),
        layers: Vec::new(),
        change: None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn spec(version: i64, fps: u32) -> StreamSpec {
        test_spec(version, fps)
    }

    #[test]
    fn frames_advance_at_the_frame_rate_and_carry_over_a_new_rate() {
        let t0 = Instant::now();
        let mut c = FrameClock {
            since: t0,
            fps: 30,
            before: 0,
        };
        assert_eq!(c.frames_at(t0 + Duration::from_secs(2)), 60);
        c.set_fps(25, t0 + Duration::from_secs(2));
        assert_eq!(c.frames_at(t0 + Duration::from_secs(4)), 110);
    }

    #[test]
    fn a_simulated_stream_is_live_at_once_and_applies_only_newer_versions() {
        let engine = SimEngine::new("sim-1");
        let stream = StreamEngine::start(&engine, &spec(3, 30)).unwrap();
        let mut events = stream.events();
        let r = stream.report();
        assert_eq!(r.state, StreamState::Live);
        assert_eq!((r.version, r.node_id.as_deref()), (3, Some("sim-1")));
        assert_eq!(r.fps, 30.0);

        assert_eq!(stream.apply(&spec(3, 30)).unwrap(), Applied::Ignored);
        assert!(matches!(
            stream.apply(&spec(4, 30)).unwrap(),
            Applied::AtFrame(_)
        ));
        assert_eq!(stream.apply(&spec(5, 25)).unwrap(), Applied::Restarted);
        let mut paused = spec(6, 25);
        paused.desired = DesiredState::Paused;
        stream.apply(&paused).unwrap();
        let r = stream.report();
        assert_eq!((r.state, r.version, r.fps), (StreamState::Paused, 6, 25.0));

        let last = stream.stop().unwrap();
        assert_eq!(last.state, StreamState::Idle);
        assert_eq!(events.try_recv().ok(), Some(NodeEvent::StreamEnded));
        assert!(matches!(
            stream.apply(&spec(7, 25)),
            Err(RenderError::Stopped)
        ));
    }
}
