//! Moving layers decoded by a small pipeline of their own into an `appsink`: video files and
//! network streams (`uridecodebin`, looped by seeking back), test patterns, and live feeds
//! pushed in as FLV (ingest layers).
//!
//! Each source runs its own pipeline so a broken or slow file never stalls the output: the
//! compositor takes whatever frame is newest and holds the last one otherwise. Its audio, if
//! any, is pushed into the output's mixer through an [`AudioInput`].

use std::sync::Arc;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;
use parking_lot::Mutex;
use shared::effect::Crop;
use shared::media_url::MediaPolicy;

use super::OnSourceError;
use super::guard::{Verdict, guard};
use super::pattern::{configure_pattern, try_set};
use crate::compose::FrameSource;
use crate::compose::canvas::PlanarView;
use crate::error::{RenderError, Result, make};
use crate::pipeline::audio::{AudioInput, audio_caps};

/// What a moving layer shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MovingKind {
    /// A file or network URI, decoded by `uridecodebin`.
    Uri { uri: String, looping: bool },
    /// A `videotestsrc` pattern (`testsrc://ball`): moving pixels with no decoding cost, for
    /// benchmarks and tests.
    Pattern(String),
    /// A live FLV feed the caller pushes into [`AppsinkSource::feed_input`], named for logs.
    /// Shown as it arrives, never paced: the feed's clock is the encoder's, not ours.
    Feed(String),
}

impl MovingKind {
    /// Reads a video layer's URI: `testsrc://PATTERN` selects a test pattern.
    pub fn from_uri(uri: &str, looping: bool) -> Self {
        match uri.strip_prefix("testsrc://") {
            Some(p) => MovingKind::Pattern(p.to_owned()),
            None => MovingKind::Uri {
                uri: uri.to_owned(),
                looping,
            },
        }
    }
}

/// A decoding pipeline whose newest frame the compositor draws.
pub struct AppsinkSource {
    name: String,
    pipeline: gst::Pipeline,
    sink: gst_app::AppSink,
    filter: gst::Element,
    size: (u32, u32),
    looping: bool,
    live: bool,
    last: Option<gst_video::VideoFrame<gst_video::video_frame::Readable>>,
    on_error: OnSourceError,
    failed: bool,
    /// The stream ended (EOS, not looped): a pulled source reconnects.
    ended: bool,
    /// What the decoder's guard refused, in words for the tenant.
    verdict: Verdict,
    audio: Arc<Mutex<Option<AudioInput>>>,
    /// Where a [`MovingKind::Feed`]'s bytes go.
    input: Option<gst_app::AppSrc>,
    /// Decoded frames taken so far (a feed that stops producing them has stalled).
    frames: u64,
}

impl std::fmt::Debug for AppsinkSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppsinkSource")
            .field("name", &self.name)
            .finish()
    }
}

/// Any raw video at the box's size, square pixels: what the scaler is asked for.
fn sized_caps(w: u32, h: u32) -> gst::Caps {
    gst::Caps::builder("video/x-raw")
        .field("width", w.max(2) as i32)
        .field("height", h.max(2) as i32)
        .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
        .build()
}

/// I420, at `fps` when given (test patterns): what the compositor takes.
fn format_caps(fps: Option<u32>) -> gst::Caps {
    let mut b = gst::Caps::builder("video/x-raw").field("format", "I420");
    if let Some(fps) = fps {
        b = b.field("framerate", gst::Fraction::new(fps as i32, 1));
    }
    b.build()
}

impl AppsinkSource {
    /// Builds and starts the source at `width`×`height`. `live` paces it on the clock (real
    /// time); otherwise it produces frames as fast as the compositor takes them.
    /// Waits until the source is running so a missing file is reported here. Whatever the
    /// decoder fetches besides the URI itself is checked against `policy` (see
    /// [`super::guard`]).
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        kind: &MovingKind,
        policy: Option<&MediaPolicy>,
        width: u32,
        height: u32,
        fps: u32,
        live: bool,
        audio: Option<AudioInput>,
        on_error: OnSourceError,
        crop: Crop,
    ) -> Result<Self> {
        let pipeline = gst::Pipeline::new();
        // A crop is in source pixels, so it cuts before the scaler; only cropped layers get
        // the element (it passes fewer raw formats than the scaler does).
        let cropper = if crop == Crop::default() {
            None
        } else {
            let c = make("videocrop")?;
            c.set_property("left", crop.left as i32);
            c.set_property("top", crop.top as i32);
            c.set_property("right", crop.right as i32);
            c.set_property("bottom", crop.bottom as i32);
            Some(c)
        };
        // Scaled to the layer's box before anything else touches the pictures: conversion
        // then works on (and allocates) the box's size, not the decoder's.
        let scale = make("videoscale")?;
        let convert = make("videoconvert")?;
        let filter = make("capsfilter")?;
        let is_pattern = matches!(kind, MovingKind::Pattern(_));
        let sync = live && !matches!(kind, MovingKind::Feed(_));
        filter.set_property("caps", format_caps(is_pattern.then_some(fps)));
        let sized = make("capsfilter")?;
        sized.set_property("caps", sized_caps(width, height));
        let verdict = Verdict::default();
        let sink = gst_app::AppSink::builder()
            .sync(sync)
            .max_buffers(1)
            .drop(live)
            .build();
        let mut chain = vec![&scale, &sized, &convert, &filter, sink.upcast_ref()];
        if let Some(c) = &cropper {
            chain.insert(0, c);
        }
        pipeline
            .add_many(chain.iter().copied())
            .map_err(RenderError::gst("assemble a video source"))?;
        gst::Element::link_many(chain.iter().copied())
            .map_err(RenderError::gst("link a video source"))?;
        // Where decoded pictures enter the chain.
        let scale = cropper.clone().unwrap_or_else(|| scale.clone());
        let audio = Arc::new(Mutex::new(audio));
        let mut input = None;
        let (name, looping) = match kind {
            MovingKind::Pattern(p) => {
                let src = make("videotestsrc")?;
                configure_pattern(&src, p)?;
                src.set_property("is-live", live);
                pipeline
                    .add(&src)
                    .map_err(RenderError::gst("add videotestsrc"))?;
                src.link(&scale)
                    .map_err(RenderError::gst("link videotestsrc"))?;
                (format!("testsrc://{p}"), false)
            }
            MovingKind::Uri { uri, looping } => {
                let src = make("uridecodebin")?;
                src.set_property("uri", uri);
                guard(&src, policy.cloned(), &verdict)?;
                pipeline
                    .add(&src)
                    .map_err(RenderError::gst("add uridecodebin"))?;
                link_decoded_pads(&src, &pipeline, &scale, audio.clone(), sync);
                (uri.clone(), *looping)
            }
            MovingKind::Feed(name) => {
                let src = feed_appsrc();
                let decode = make("decodebin")?;
                guard(&decode, None, &verdict)?;
                pipeline
                    .add_many([src.upcast_ref(), &decode])
                    .map_err(RenderError::gst("add a feed decoder"))?;
                src.link(&decode)
                    .map_err(RenderError::gst("link a feed decoder"))?;
                link_decoded_pads(&decode, &pipeline, &scale, audio.clone(), sync);
                input = Some(src);
                (name.clone(), false)
            }
        };
        let me = AppsinkSource {
            name,
            pipeline,
            sink,
            filter: sized,
            size: (width, height),
            looping,
            live,
            last: None,
            on_error,
            failed: false,
            ended: false,
            verdict,
            audio,
            input,
            frames: 0,
        };
        me.pipeline
            .set_state(gst::State::Playing)
            .map_err(|_| me.start_error(None))?;
        // Wait for preroll (bounded) so a missing file fails the layer now, not later. A
        // feed has nothing to preroll on until its first bytes are pushed, after this.
        if me.input.is_none() {
            me.wait_preroll()?;
        }
        Ok(me)
    }

    /// Waits up to 10 s for preroll, failing at the first error the pipeline posts.
    fn wait_preroll(&self) -> Result<()> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Some(message) = super::fetch::bus_error(&self.pipeline) {
                return Err(self.start_error(Some(message)));
            }
            match self.pipeline.state(gst::ClockTime::from_mseconds(50)) {
                (Err(_), _, _) => return Err(self.start_error(None)),
                (Ok(gst::StateChangeSuccess::Async), _, _) => {}
                (Ok(_), _, _) => return Ok(()),
            }
        }
        Ok(())
    }

    fn start_error(&self, message: Option<String>) -> RenderError {
        if let Some(reason) = self.verdict.get() {
            return RenderError::MediaRefused(reason);
        }
        let message = message
            .or_else(|| super::fetch::bus_error(&self.pipeline))
            .unwrap_or_else(|| "cannot start".into());
        RenderError::Pipeline {
            element: self.name.clone(),
            message,
            debug: None,
        }
    }

    /// Handles end of stream (loop) and errors (hold the last frame, report once).
    fn poll_bus(&mut self) {
        let Some(bus) = self.pipeline.bus() else {
            return;
        };
        while let Some(msg) = bus.pop_filtered(&[gst::MessageType::Eos, gst::MessageType::Error]) {
            match msg.view() {
                gst::MessageView::Eos(_) if self.looping => {
                    let flags = gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT;
                    if let Err(e) = self.pipeline.seek_simple(flags, gst::ClockTime::ZERO) {
                        // Not seekable (a server without range requests): over, so a pulled
                        // source loops by fetching it again.
                        tracing::warn!(source = %self.name, error = %e, "cannot loop video");
                        self.ended = true;
                    }
                }
                gst::MessageView::Eos(_) => self.ended = true,
                gst::MessageView::Error(e) if !self.failed => {
                    self.failed = true;
                    (self.on_error)(&self.name, &e.error().to_string());
                }
                _ => {}
            }
        }
    }
}

/// The `appsrc` a live feed's FLV bytes are pushed into, one tag per buffer. Bounded: when
/// the decoder falls behind, whole old tags are dropped (the picture breaks up until the
/// next keyframe) rather than memory growing or the feed's reader blocking.
fn feed_appsrc() -> gst_app::AppSrc {
    let src = gst_app::AppSrc::builder()
        .caps(&gst::Caps::builder("video/x-flv").build())
        .format(gst::Format::Bytes)
        .is_live(true)
        .max_bytes(8 << 20)
        .block(false)
        .build();
    try_set(src.upcast_ref(), "leaky-type", "downstream");
    src
}

/// Links a decodebin's pads as they appear: video to the scaler, audio to the mixer (synced
/// to the clock when `sync`).
fn link_decoded_pads(
    src: &gst::Element,
    pipeline: &gst::Pipeline,
    convert: &gst::Element,
    audio: Arc<Mutex<Option<AudioInput>>>,
    sync: bool,
) {
    let convert = convert.downgrade();
    let pipeline = pipeline.downgrade();
    src.connect_pad_added(move |_, pad| {
        let Some(caps) = pad.current_caps().or_else(|| Some(pad.query_caps(None))) else {
            return;
        };
        let Some(name) = caps.structure(0).map(|s| s.name().to_string()) else {
            return;
        };
        if name.starts_with("video/") {
            if let Some(convert) = convert.upgrade()
                && let Some(sinkpad) = convert.static_pad("sink")
                && !sinkpad.is_linked()
                && let Err(e) = pad.link(&sinkpad)
            {
                tracing::warn!(error = ?e, "cannot link decoded video");
            }
        } else if name.starts_with("audio/")
            && let Some(pipeline) = pipeline.upgrade()
            && let Err(e) = link_audio(pad, &pipeline, audio.clone(), sync)
        {
            tracing::warn!(error = %e, "cannot link decoded audio");
        }
    });
}

/// `audioconvert ! audioresample ! capsfilter ! appsink`, whose samples go to the mixer.
fn link_audio(
    pad: &gst::Pad,
    pipeline: &gst::Pipeline,
    audio: Arc<Mutex<Option<AudioInput>>>,
    sync: bool,
) -> Result<()> {
    let has_target = audio.lock().is_some();
    let sink = gst_app::AppSink::builder()
        .sync(sync)
        .caps(&audio_caps())
        .build();
    let convert = make("audioconvert")?;
    let resample = make("audioresample")?;
    let elems = [&convert, &resample, sink.upcast_ref()];
    pipeline
        .add_many(elems)
        .map_err(RenderError::gst("add audio branch"))?;
    gst::Element::link_many(elems).map_err(RenderError::gst("link audio branch"))?;
    if has_target {
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |s| {
                    let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    if let Some(buf) = sample.buffer_owned()
                        && let Some(input) = audio.lock().as_ref()
                    {
                        input.push(buf);
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
    } else {
        // Nobody mixes this audio (throughput mode): drain it so the decoder is not blocked.
        sink.set_property("sync", false);
        sink.set_property("max-buffers", 1u32);
        sink.set_property("drop", true);
    }
    for e in elems {
        e.sync_state_with_parent()
            .map_err(RenderError::gst("start audio branch"))?;
    }
    let sinkpad = convert
        .static_pad("sink")
        .ok_or_else(|| RenderError::MissingElement("audioconvert sink pad".into()))?;
    pad.link(&sinkpad).map_err(|e| RenderError::Pipeline {
        element: "uridecodebin".into(),
        message: format!("cannot link audio: {e:?}"),
        debug: None,
    })?;
    Ok(())
}

impl FrameSource for AppsinkSource {
    fn set_size(&mut self, width: u32, height: u32) {
        if (width, height) != self.size {
            self.size = (width, height);
            self.filter.set_property("caps", sized_caps(width, height));
        }
    }

    fn frame(&mut self) -> Option<PlanarView<'_>> {
        self.pull();
        self.view()
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

impl AppsinkSource {
    /// Where a [`MovingKind::Feed`]'s FLV bytes are pushed.
    pub fn feed_input(&self) -> Option<&gst_app::AppSrc> {
        self.input.as_ref()
    }

    /// Mutes or unmutes the source's audio in the output's mix.
    pub fn set_muted(&self, muted: bool) {
        if let Some(input) = self.audio.lock().as_ref() {
            input.set_muted(muted);
        }
    }

    /// Whether the source is over: it failed, or its stream ended without looping (read
    /// after [`Self::pull`], which takes the bus's news).
    pub fn is_over(&self) -> bool {
        self.failed || self.ended
    }

    /// Decoded frames taken so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Takes the newest decoded frame, if one came since the last call.
    pub fn pull(&mut self) {
        self.poll_bus();
        // Throughput mode: give the decoder a moment so each output frame gets a new input
        // frame, as a clocked pipeline would.
        let wait = if self.live || self.last.is_none() {
            gst::ClockTime::ZERO
        } else {
            gst::ClockTime::from_mseconds(20)
        };
        if let Some(sample) = self.sink.try_pull_sample(wait)
            && let (Some(buf), Some(caps)) = (sample.buffer_owned(), sample.caps())
            && let Ok(info) = gst_video::VideoInfo::from_caps(caps)
            && let Ok(frame) = gst_video::VideoFrame::from_buffer_readable(buf, &info)
        {
            self.last = Some(frame);
            self.frames += 1;
        }
    }

    /// The newest frame taken, `None` before the first.
    pub fn view(&self) -> Option<PlanarView<'_>> {
        let f = self.last.as_ref()?;
        let plane = |i: u32| f.plane_data(i).ok();
        let strides = f.plane_stride();
        Some(PlanarView {
            width: f.width() as usize,
            height: f.height() as usize,
            y: plane(0)?,
            y_stride: usize::try_from(strides[0]).ok()?,
            u: plane(1)?,
            u_stride: usize::try_from(strides[1]).ok()?,
            v: plane(2)?,
            v_stride: usize::try_from(strides[2]).ok()?,
        })
    }
}

impl Drop for AppsinkSource {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
        if let Some(input) = self.audio.lock().take() {
            input.close();
        }
    }
}
