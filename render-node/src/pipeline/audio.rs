//! The output's audio: a silent live source mixed with whatever video layers play.
//!
//! Silence is always present so the FLV stream has an audio track from its first second
//! (players and platforms expect one); video layers join the mixer through an `appsrc` each.

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::error::{RenderError, Result, make};

/// The one raw audio format inside the node.
pub fn audio_caps() -> gst::Caps {
    gst::Caps::builder("audio/x-raw")
        .field("format", "S16LE")
        .field("layout", "interleaved")
        .field("rate", 48_000i32)
        .field("channels", 2i32)
        .build()
}

/// How video layers add their audio to a running output.
#[derive(Debug, Clone)]
pub struct AudioPort {
    pipeline: gst::glib::WeakRef<gst::Pipeline>,
    mixer: gst::Element,
}

impl AudioPort {
    pub(crate) fn new(pipeline: &gst::Pipeline, mixer: gst::Element) -> Self {
        AudioPort {
            pipeline: pipeline.downgrade(),
            mixer,
        }
    }

    /// A new mixer input, live in the output's running time.
    pub fn add_input(&self) -> Result<AudioInput> {
        let pipeline = self.pipeline.upgrade().ok_or(RenderError::Stopped)?;
        let src = gst_app::AppSrc::builder()
            .caps(&audio_caps())
            .format(gst::Format::Time)
            .is_live(true)
            // Decoded audio arrives in bursts of up to ~100 ms: tell the mixer to wait that long.
            .min_latency(100_000_000)
            .max_latency(500_000_000)
            .build();
        let queue = make("queue")?;
        let elems = [src.upcast_ref(), &queue];
        pipeline
            .add_many(elems)
            .map_err(RenderError::gst("add an audio input"))?;
        src.link(&queue)
            .map_err(RenderError::gst("link an audio input"))?;
        let mix_pad = self
            .mixer
            .request_pad_simple("sink_%u")
            .ok_or_else(|| RenderError::MissingElement("audiomixer sink pad".into()))?;
        let qsrc = queue
            .static_pad("src")
            .ok_or_else(|| RenderError::MissingElement("queue src pad".into()))?;
        qsrc.link(&mix_pad).map_err(|e| RenderError::Pipeline {
            element: "audiomixer".into(),
            message: format!("cannot link an audio input: {e:?}"),
            debug: None,
        })?;
        for e in elems {
            e.sync_state_with_parent()
                .map_err(RenderError::gst("start an audio input"))?;
        }
        Ok(AudioInput {
            pipeline: pipeline.downgrade(),
            mixer: self.mixer.clone(),
            src,
            queue,
            mix_pad,
        })
    }
}

/// One video layer's way into the mixer.
#[derive(Debug)]
pub struct AudioInput {
    pipeline: gst::glib::WeakRef<gst::Pipeline>,
    mixer: gst::Element,
    src: gst_app::AppSrc,
    queue: gst::Element,
    mix_pad: gst::Pad,
}

impl AudioInput {
    /// Pushes decoded audio, re-stamped to "now" in the output's running time: the source
    /// pipeline has its own timeline (and loops), the output's is the one that counts.
    pub fn push(&self, mut buf: gst::Buffer) {
        let now = self
            .pipeline
            .upgrade()
            .and_then(|p| p.current_running_time());
        {
            let b = buf.make_mut();
            b.set_pts(now);
            b.set_dts(gst::ClockTime::NONE);
        }
        let _ = self.src.push_buffer(buf);
    }

    /// Leaves the mixer and the pipeline.
    pub fn close(self) {
        let _ = self.src.end_of_stream();
        if let Some(p) = self.pipeline.upgrade() {
            let _ = self.src.set_state(gst::State::Null);
            let _ = self.queue.set_state(gst::State::Null);
            let _ = p.remove_many([self.src.upcast_ref(), &self.queue]);
        }
        self.mixer.release_request_pad(&self.mix_pad);
    }
}
