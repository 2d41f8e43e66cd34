//! The supervisor thread of a stream: reads the pipeline's bus, keeps destinations
//! connected, refreshes the report once a second, tears down retired sources, and always
//! brings the pipeline to `Null` at the end.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use parking_lot::Mutex;
use shared::status::{LiveReport, StreamState};
use uuid::Uuid;

use super::events::{EventSink, NodeEvent};
use super::render_loop::RenderCommand;
use super::stats::{FrameStats, RateMeter};
use crate::compose::layer::LayerContent;
use crate::output::Outputs;
use crate::pipeline::latency::LatencyProbe;
use crate::system::process::resident_bytes;
use crate::system::unix_ms;

/// Longest wait for EOS to drain through the muxer and sinks when stopping.
const EOS_TIMEOUT: Duration = Duration::from_secs(5);

/// What the handle tells the supervisor.
#[derive(Debug)]
pub enum SupervisorCommand {
    /// Make the RTMP destinations these.
    SetOutputs(Vec<String>),
    /// The render loop was told to stop, or ended by itself (a frame limit, a refused
    /// frame): give EOS a bounded time, then shut down.
    Stopping,
    /// The stream cannot go on (its memory budget): end it now as failed, for this reason.
    Fail(String),
    /// As `Stopping`, but a new pipeline replaces this one: the stream itself goes on, so no
    /// end event.
    Replacing,
}

/// Everything the supervisor thread owns.
pub struct Supervisor {
    pub stream_id: Uuid,
    pub pipeline: gst::Pipeline,
    pub outputs: Option<Outputs>,
    pub stats: Arc<FrameStats>,
    pub latency: Option<LatencyProbe>,
    pub output_latency: Option<LatencyProbe>,
    pub report: Arc<Mutex<LiveReport>>,
    pub events: EventSink,
    pub commands: Receiver<SupervisorCommand>,
    pub disposal: Receiver<LayerContent>,
    pub render: Sender<RenderCommand>,
}

impl Supervisor {
    /// Runs until the stream ends; returns the failure reason, if it failed.
    pub fn run(mut self) -> Option<String> {
        let Some(bus) = self.pipeline.bus() else {
            return Some("pipeline has no bus".into());
        };
        let mut meter = RateMeter::new(&self.stats, 0);
        let mut next_report = Instant::now() + Duration::from_secs(1);
        let mut stop_deadline: Option<Instant> = None;
        let mut failure: Option<String> = None;
        let mut replaced = false;
        loop {
            if let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(50)) {
                match msg.view() {
                    gst::MessageView::Eos(_) => break,
                    gst::MessageView::Error(e) => {
                        let src = msg.src().cloned();
                        let text = e.error().to_string();
                        let handled = match (&mut self.outputs, &src) {
                            (Some(o), Some(s)) => o.handle_error(s, &text),
                            _ => false,
                        };
                        if !handled {
                            let element =
                                src.map(|s| s.path_string().to_string()).unwrap_or_default();
                            let detail = e.debug().map(|d| d.to_string()).unwrap_or_default();
                            tracing::error!(stream_id = %self.stream_id, %element, %detail, "pipeline error");
                            failure = Some(format!("{element}: {text}"));
                            break;
                        }
                    }
                    gst::MessageView::Warning(w) => {
                        tracing::warn!(stream_id = %self.stream_id, warning = %w.error(), "pipeline warning");
                    }
                    _ => {}
                }
            }
            while let Ok(content) = self.disposal.try_recv() {
                drop(content);
            }
            while let Ok(cmd) = self.commands.try_recv() {
                match cmd {
                    SupervisorCommand::SetOutputs(urls) => {
                        if let Some(o) = &mut self.outputs {
                            o.set_rtmp(&urls);
                        }
                    }
                    SupervisorCommand::Stopping => {
                        stop_deadline.get_or_insert(Instant::now() + EOS_TIMEOUT);
                    }
                    SupervisorCommand::Fail(reason) => {
                        tracing::error!(stream_id = %self.stream_id, %reason, "stream stopped");
                        failure = Some(reason);
                    }
                    SupervisorCommand::Replacing => {
                        replaced = true;
                        stop_deadline.get_or_insert(Instant::now() + EOS_TIMEOUT);
                    }
                }
            }
            if failure.is_some() {
                break;
            }
            if let Some(o) = &mut self.outputs {
                o.tick(stop_deadline.is_none());
                if o.all_failed() && failure.is_none() {
                    failure = Some("every destination failed".into());
                    break;
                }
            }
            if Instant::now() >= next_report {
                next_report += Duration::from_secs(1);
                self.refresh(&mut meter);
            } else if self.first_frame_unreported() {
                // Live the moment the first frame is out, not at the next report.
                self.refresh(&mut meter);
            }
            if stop_deadline.is_some_and(|d| Instant::now() > d) {
                tracing::warn!(stream_id = %self.stream_id, "EOS did not drain in time, stopping hard");
                break;
            }
        }
        // A replacement may have been announced just as EOS arrived.
        while let Ok(cmd) = self.commands.try_recv() {
            replaced |= matches!(cmd, SupervisorCommand::Replacing);
        }
        // The render loop may still be running (on a failure): stop it first.
        let _ = self.render.send(RenderCommand::Stop);
        let _ = self.pipeline.set_state(gst::State::Null);
        while let Ok(content) = self.disposal.try_recv() {
            drop(content);
        }
        self.refresh(&mut meter);
        {
            let mut r = self.report.lock();
            // A replaced pipeline's end is not the stream's: its report (read until the new
            // pipeline's takes over) keeps the stream's state.
            match (&failure, replaced) {
                (Some(_), _) => r.state = StreamState::Failed,
                (None, false) => r.state = StreamState::Idle,
                (None, true) => {}
            }
            r.reason = failure.clone();
            r.fps = 0.0;
        }
        match &failure {
            Some(message) => self.events.send(NodeEvent::StreamFailed {
                message: message.clone(),
            }),
            None if replaced => {}
            None => self.events.send(NodeEvent::StreamEnded),
        }
        failure
    }

    /// Frames are out but the report still says starting.
    fn first_frame_unreported(&self) -> bool {
        self.stats.frames.load(std::sync::atomic::Ordering::Relaxed) > 0
            && self.report.lock().state == StreamState::Starting
    }

    fn refresh(&mut self, meter: &mut RateMeter) {
        let bytes = self.outputs.as_ref().map_or(0, |o| o.bytes_sent());
        let rates = meter.sample(&self.stats, bytes);
        let mut r = self.report.lock();
        use std::sync::atomic::Ordering::Relaxed;
        r.fps = rates.fps;
        r.frame_count = self.stats.frames.load(Relaxed);
        r.dropped_frames = self.stats.dropped.load(Relaxed);
        r.average_render_time = rates.average_render_ms;
        r.encoder_latency_ms = self.latency.as_ref().map_or(0.0, |l| l.millis());
        r.output_latency_ms = self.output_latency.as_ref().map_or(0.0, |l| l.millis());
        r.bitrate = rates.bitrate_kbps;
        r.cpu_usage = rates.cpu_percent;
        r.memory_usage = resident_bytes();
        r.outputs = self
            .outputs
            .as_ref()
            .map(|o| o.statuses())
            .unwrap_or_default();
        let went_live = r.state == StreamState::Starting && r.frame_count > 0;
        if went_live {
            r.state = StreamState::Live;
        }
        r.reported_at = unix_ms();
        drop(r);
        if went_live {
            self.events.send(NodeEvent::Live);
        }
    }
}
