//! The GStreamer side of a stream: composed frames in, FLV out.
//!
//! ```text
//! appsrc(I420) ─ tee ─ queue ─ x264enc ─ h264parse ─ queue ─┐
//!                 └─ queue ─ appsink (tap, tests/preview)   flvmux ─ tee ─ output branches
//! audiotestsrc(silence) ─ audiomixer ─ caps ─ aac ─ aacparse ─ queue ─┘     (see `output`)
//!   video layers' audio (faders) ─┘         └ probe: master volume, programme meter
//! ```
//!
//! - [`encoder`]: the H.264 and AAC encoders from the stream config.
//! - [`audio`]: the mixer inputs video layers push their sound into, their faders and meters.
//! - [`latency`]: encoder latency measured on its pads.

pub mod audio;
pub mod encoder;
pub mod latency;

use std::sync::Arc;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use shared::stream_config::StreamConfig;

use self::audio::{AudioPort, Mix, audio_caps};
use self::latency::LatencyProbe;
use crate::error::{RenderError, Result, make, make_named};

/// How far the pipeline goes after compositing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Encode and mux (the product).
    Encode,
    /// Stop right after compositing (benchmarks measure the compositor alone).
    CompositeOnly,
}

/// The built pipeline and the handles the engine needs.
#[derive(Debug)]
pub struct OutputPipeline {
    pub pipeline: gst::Pipeline,
    /// Where the render loop pushes composed frames.
    pub video_in: gst_app::AppSrc,
    /// Muxed FLV, for output branches; `None` when only compositing.
    pub mux_tee: Option<gst::Element>,
    pub video_encoder: Option<gst::Element>,
    pub audio: Option<AudioPort>,
    /// Every composed frame, when a tap was asked for.
    pub tap: Option<gst_app::AppSink>,
    /// Time a frame spends in the video encoder.
    pub latency: Option<LatencyProbe>,
    /// Time from a frame entering the pipeline to its FLV tag leaving the muxer.
    pub output_latency: Option<LatencyProbe>,
}

/// The raw caps of composed frames.
pub fn frame_caps(config: &StreamConfig) -> gst::Caps {
    gst::Caps::builder("video/x-raw")
        .field("format", "I420")
        .field("width", config.resolution.width as i32)
        .field("height", config.resolution.height as i32)
        .field("framerate", gst::Fraction::new(config.target_fps as i32, 1))
        .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
        .field("colorimetry", "bt709")
        .build()
}

fn link(elems: &[&gst::Element], what: &str) -> Result<()> {
    gst::Element::link_many(elems).map_err(RenderError::gst(format!("link {what}")))
}

impl OutputPipeline {
    /// Builds the pipeline for `config`. `live` makes the sources live (real time).
    pub fn build(
        config: &StreamConfig,
        stream_id: &str,
        live: bool,
        stage: Stage,
        tap: bool,
    ) -> Result<Self> {
        let pipeline = gst::Pipeline::with_name(&format!("stream-{stream_id}"));
        let frame_bytes = (config.resolution.width * config.resolution.height * 3 / 2) as u64;
        let video_in = gst_app::AppSrc::builder()
            .name("compositor")
            .caps(&frame_caps(config))
            .format(gst::Format::Time)
            .is_live(live)
            // Blocks the render loop when downstream is slow instead of queueing frames: in
            // throughput mode that paces us to the encoder, live it shows up as drops.
            .block(true)
            .max_bytes(frame_bytes * 2)
            .build();
        pipeline
            .add(&video_in)
            .map_err(RenderError::gst("add the frame source"))?;
        let vtee = make_named("tee", "frames")?;
        pipeline
            .add(&vtee)
            .map_err(RenderError::gst("add the frame tee"))?;
        video_in
            .link(&vtee)
            .map_err(RenderError::gst("link the frame source"))?;

        let tap = if tap {
            let q = make("queue")?;
            q.set_property("max-size-buffers", 0u32);
            q.set_property("max-size-bytes", 0u32);
            q.set_property("max-size-time", 0u64);
            let sink = gst_app::AppSink::builder()
                .name("tap")
                .sync(false)
                // Frames nobody pulled must not hold up EOS (and so a clean stop).
                .wait_on_eos(false)
                .build();
            pipeline
                .add_many([&q, sink.upcast_ref()])
                .map_err(RenderError::gst("add the tap"))?;
            link(&[&vtee, &q, sink.upcast_ref()], "the tap")?;
            Some(sink)
        } else {
            None
        };

        if live {
            // The RTSP preview reads the newest composed frame from this channel; the leaky
            // one-frame queue means a slow or absent preview never holds up the output.
            let q = make("queue")?;
            q.set_property_from_str("leaky", "downstream");
            q.set_property("max-size-buffers", 1u32);
            q.set_property("max-size-bytes", 0u32);
            q.set_property("max-size-time", 0u64);
            let sink = make("intervideosink")?;
            sink.set_property("channel", preview_channel(stream_id));
            // Not a clock-synced sink: frames are timed upstream, and a sink that waits on
            // the clock here could hold up the stream's end (EOS) for nothing.
            sink.set_property("sync", false);
            sink.set_property("async", false);
            pipeline
                .add_many([&q, &sink])
                .map_err(RenderError::gst("add the preview branch"))?;
            link(&[&vtee, &q, &sink], "the preview branch")?;
        }

        if stage == Stage::CompositeOnly {
            let q = make("queue")?;
            let sink = make("fakesink")?;
            sink.set_property("sync", false);
            pipeline
                .add_many([&q, &sink])
                .map_err(RenderError::gst("add fakesink"))?;
            link(&[&vtee, &q, &sink], "fakesink")?;
            return Ok(OutputPipeline {
                pipeline,
                video_in,
                mux_tee: None,
                video_encoder: None,
                audio: None,
                tap,
                latency: None,
                output_latency: None,
            });
        }

        let vq = make("queue")?;
        let (venc, _) = encoder::video_encoder(config, stream_id)?;
        let parse = make("h264parse")?;
        let vq2 = make("queue")?;
        let asrc = make("audiotestsrc")?;
        asrc.set_property_from_str("wave", "silence");
        asrc.set_property("is-live", live);
        let acaps = make("capsfilter")?;
        acaps.set_property("caps", audio_caps());
        let mixer = make("audiomixer")?;
        // Fixes the mix to our one format, so the programme probe reads known samples.
        let mixcaps = make("capsfilter")?;
        mixcaps.set_property("caps", audio_caps());
        let aconv = make("audioconvert")?;
        let aenc = encoder::audio_encoder()?;
        let aparse = make("aacparse")?;
        let aq = make("queue")?;
        let mux = make("flvmux")?;
        mux.set_property("streamable", true);
        let mux_tee = make_named("tee", "outputs")?;
        mux_tee.set_property("allow-not-linked", true);
        pipeline
            .add_many([
                &vq, &venc, &parse, &vq2, &asrc, &acaps, &mixer, &mixcaps, &aconv, &aenc, &aparse,
                &aq, &mux, &mux_tee,
            ])
            .map_err(RenderError::gst("add the encoders"))?;
        link(
            &[&vtee, &vq, &venc, &parse, &vq2, &mux],
            "the video encoder",
        )?;
        link(
            &[
                &asrc, &acaps, &mixer, &mixcaps, &aconv, &aenc, &aparse, &aq, &mux,
            ],
            "the audio encoder",
        )?;
        let mix = Arc::new(Mix::default());
        mix.apply(std::iter::empty(), config.master_volume);
        if let Some(pad) = mixcaps.static_pad("src") {
            mix.attach_programme(&pad);
        }
        link(&[&mux, &mux_tee], "the muxer")?;
        log_first_output(&mux, stream_id);
        let latency = LatencyProbe::attach(&venc);
        let output_latency = match (video_in.static_pad("src"), mux.static_pad("src")) {
            (Some(entry), Some(exit)) => Some(LatencyProbe::across(&entry, &exit, is_video_tag)),
            _ => None,
        };
        Ok(OutputPipeline {
            audio: Some(AudioPort::new(&pipeline, mixer, mix)),
            pipeline,
            video_in,
            mux_tee: Some(mux_tee),
            video_encoder: Some(venc),
            tap,
            latency,
            output_latency,
        })
    }
}

/// Whether a muxer output buffer is an FLV video tag (tag type 9), not the header, metadata
/// or audio.
fn is_video_tag(buffer: &gst::BufferRef) -> bool {
    buffer.map_readable().is_ok_and(|m| m.first() == Some(&9))
}

/// Logs (debug) how long after building the muxer handed out its first bytes: one stage
/// of a stream's start-up, which `scripts/bench-dispatch.sh` reads.
fn log_first_output(mux: &gst::Element, stream_id: &str) {
    let Some(pad) = mux.static_pad("src") else {
        return;
    };
    let built = std::time::Instant::now();
    let stream_id = stream_id.to_owned();
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        let after_ms = built.elapsed().as_millis() as u64;
        tracing::debug!(%stream_id, after_ms, "first muxed bytes");
        gst::PadProbeReturn::Remove
    });
}

/// The `intervideo` channel carrying a stream's composed frames to its RTSP preview.
pub fn preview_channel(stream_id: &str) -> String {
    format!("sm-preview-{stream_id}")
}

/// Runs one frame through a tiny throwaway pipeline (encoders, muxer, the RTMP sink's
/// plugin), so plugins are loaded and encoders initialised before the first real stream: on
/// a cold node the first start otherwise takes about 75 ms longer than the next ones.
pub fn warm_up() -> Result<()> {
    let config = StreamConfig {
        resolution: shared::stream_config::Resolution {
            width: 160,
            height: 90,
        },
        render_quality: 1,
        ..StreamConfig::default()
    };
    let built = OutputPipeline::build(&config, "warm-up", false, Stage::Encode, false)?;
    drop(make("rtmp2sink")?);
    let pipeline = built.pipeline;
    // A sink, so the end of the stream is posted (outputs are added per stream).
    let sink = make("fakesink")?;
    pipeline
        .add(&sink)
        .map_err(RenderError::gst("add the warm-up sink"))?;
    if let Some(tee) = &built.mux_tee {
        link(&[tee, &sink], "the warm-up sink")?;
    }
    if pipeline.set_state(gst::State::Playing).is_err() {
        let _ = pipeline.set_state(gst::State::Null);
        return Err(RenderError::StateChange {
            what: "start the warm-up pipeline".into(),
        });
    }
    let size = (config.resolution.width * config.resolution.height * 3 / 2) as usize;
    let mut frame = gst::Buffer::with_size(size).map_err(RenderError::gst("allocate a frame"))?;
    if let Some(b) = frame.get_mut() {
        b.set_pts(gst::ClockTime::ZERO);
        b.set_duration(gst::ClockTime::from_mseconds(33));
    }
    let _ = built.video_in.push_buffer(frame);
    let _ = built.video_in.end_of_stream();
    // The silent audio source ends only when told to.
    pipeline.send_event(gst::event::Eos::new());
    let outcome = pipeline.bus().and_then(|bus| {
        bus.timed_pop_filtered(
            gst::ClockTime::from_seconds(2),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
    });
    let _ = pipeline.set_state(gst::State::Null);
    match outcome.as_ref().map(|m| m.view()) {
        Some(gst::MessageView::Eos(_)) => Ok(()),
        Some(gst::MessageView::Error(e)) => Err(RenderError::Pipeline {
            element: "warm-up".into(),
            message: e.error().to_string(),
            debug: e.debug().map(|d| d.to_string()),
        }),
        _ => Err(RenderError::StateChange {
            what: "finish the warm-up pipeline in time".into(),
        }),
    }
}
