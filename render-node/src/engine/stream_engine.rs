//! The seam between the fleet and whatever renders its streams: the fleet worker starts,
//! changes, watches and stops streams only through [`StreamEngine`] and [`RunningStream`].
//!
//! Three engines fit it: this crate's in-process GStreamer [`Engine`] (implemented here),
//! the simulated one in [`super::sim`] (frames counted, nothing rendered: a fleet load
//! harness runs hundreds of nodes in one process on it), and later one that runs each
//! stream's pipeline in a child process. So the seam carries only what crosses a process
//! boundary well: specs in, reports and events out, a JPEG on request. Everything
//! in-process only (frame taps, extra file outputs, the frame counters) stays on
//! [`Engine::start`] and [`StreamHandle`] for the standalone command and the tests.
//!
//! Methods may block (loading media, waiting for a pipeline to drain, talking to a child
//! process): async callers run them in `spawn_blocking`, except [`RunningStream::report`]
//! and [`RunningStream::events`], which must return at once.

use shared::audio::AudioLevels;
use shared::spec::StreamSpec;
use shared::status::LiveReport;
use tokio::sync::broadcast;

use super::{Applied, Engine, NodeEvent, StreamHandle, StreamOptions};
use crate::error::Result;

/// Starts streams for a node.
pub trait StreamEngine: Send + Sync {
    /// Starts `spec`'s stream, live, to the RTMP destinations in its config. Layers that
    /// fail to load are reported as events; a stream that cannot run at all is an error.
    fn start(&self, spec: &StreamSpec) -> Result<Box<dyn RunningStream>>;

    /// Readies the engine before the node takes its first job (loads plugins, starts
    /// encoders once), so the first start is no slower than the next ones.
    fn warm_up(&self) -> Result<()> {
        Ok(())
    }
}

/// One stream an engine runs.
pub trait RunningStream: Send + Sync {
    /// Applies a newer desired state (older or equal versions are ignored).
    fn apply(&self, spec: &StreamSpec) -> Result<Applied>;

    /// The latest report: state, version on air, frame counters, rates, destinations.
    fn report(&self) -> LiveReport;

    /// Events from now on: going live, layer and source errors, output states, the end.
    fn events(&self) -> broadcast::Receiver<NodeEvent>;

    /// A JPEG of the frame on air (`quality` 1..=100); `None` when there is none (yet).
    fn snapshot_jpeg(&self, _quality: u8) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }

    /// The audio levels since the last call; `None` when the engine does not meter (must
    /// return at once: it is read ten times a second).
    fn audio_levels(&self) -> Option<AudioLevels> {
        None
    }

    /// Ends the stream cleanly and returns its final report; an error if it had failed.
    fn stop(&self) -> Result<LiveReport>;
}

impl StreamEngine for Engine {
    fn start(&self, spec: &StreamSpec) -> Result<Box<dyn RunningStream>> {
        let handle = Engine::start(self, spec, StreamOptions::default())?;
        Ok(Box::new(handle))
    }

    fn warm_up(&self) -> Result<()> {
        crate::pipeline::warm_up()
    }
}

impl RunningStream for StreamHandle {
    fn apply(&self, spec: &StreamSpec) -> Result<Applied> {
        StreamHandle::apply(self, spec)
    }

    fn report(&self) -> LiveReport {
        StreamHandle::report(self)
    }

    fn events(&self) -> broadcast::Receiver<NodeEvent> {
        StreamHandle::events(self)
    }

    fn snapshot_jpeg(&self, quality: u8) -> Result<Option<Vec<u8>>> {
        StreamHandle::snapshot_jpeg(self, quality)
    }

    fn audio_levels(&self) -> Option<AudioLevels> {
        StreamHandle::audio_levels(self)
    }

    fn stop(&self) -> Result<LiveReport> {
        StreamHandle::stop(self)
    }
}
