//! An SRT publisher's MPEG-TS turned into the FLV tags every feed is kept, relayed and
//! decoded in, so the hub, the relay and the ingest layer's decoder do not care how a feed
//! arrived: `appsrc ! tsdemux`, then `h264parse` to AVC access units and `aacparse` to raw
//! AAC, each into an `appsink` whose samples become tags.
//!
//! H.264 and AAC are what the rest of the node decodes from FLV (legacy codec ids 7 and 10).
//! HEVC and Opus elementary streams are dropped with a log line: FLV carries them only in
//! "enhanced RTMP", which GStreamer 1.22's `flvdemux` does not read.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use parking_lot::Mutex;

use crate::error::{RenderError, make};
use crate::ingest::flv::{MAX_TAG_BYTES, Tag, TagKind};
use crate::ingest::hub::Feed;

/// TS bytes the demuxer may fall behind by before new ones are dropped (about 2 s of a
/// 16 Mbit/s feed): memory stays bounded whatever the publisher sends.
const MAX_QUEUED_BYTES: u64 = 4 << 20;
/// FLV legacy codec ids and the AAC sound-format byte (AAC, 44 kHz, 16 bit, stereo: FLV
/// readers take the real values from the AudioSpecificConfig).
const AVC: u8 = 7;
const AAC_BYTE: u8 = 0xAF;

/// The demuxer of one publish.
pub struct TsDemux {
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
}

/// What both branches share: the feed, and the timestamp that is the feed's zero. The WHIP
/// ingest ([`crate::ingest::whip`]) turns its re-encoded media into tags through it too.
#[derive(Clone)]
pub struct Out {
    feed: Arc<Feed>,
    zero: Arc<Mutex<Option<gst::ClockTime>>>,
    /// Tags pushed so far: a publisher that stops sending is noticed by it not moving.
    pushed: Arc<std::sync::atomic::AtomicU64>,
}

impl Out {
    /// Tags pushed so far.
    pub fn pushed(&self) -> u64 {
        self.pushed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The tags of `feed`, timed from the first timestamp either stream brings.
    pub fn new(feed: Arc<Feed>) -> Out {
        Out {
            feed,
            zero: Arc::default(),
            pushed: Arc::default(),
        }
    }

    /// Milliseconds since the first timestamp of either stream (FLV's 32-bit clock).
    fn millis(&self, t: gst::ClockTime) -> u32 {
        let zero = *self.zero.lock().get_or_insert(t);
        (t.saturating_sub(zero).mseconds() & 0xFFFF_FFFF) as u32
    }

    fn push(&self, kind: TagKind, timestamp: u32, data: Bytes) {
        if data.len() <= MAX_TAG_BYTES {
            self.pushed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.feed.push(Tag {
                kind,
                timestamp,
                data,
            });
        }
    }
}

impl TsDemux {
    /// A running demuxer whose tags go to `feed`.
    pub fn start(feed: Arc<Feed>) -> Result<TsDemux, RenderError> {
        let pipeline = gst::Pipeline::with_name(&format!("srt-{}", feed.session));
        let src = gst_app::AppSrc::builder()
            .caps(
                &gst::Caps::builder("video/mpegts")
                    .field("systemstream", true)
                    .field("packetsize", 188i32)
                    .build(),
            )
            .format(gst::Format::Bytes)
            .is_live(true)
            .max_bytes(MAX_QUEUED_BYTES)
            .block(false)
            .build();
        let demux = make("tsdemux")?;
        pipeline
            .add_many([src.upcast_ref(), &demux])
            .map_err(RenderError::gst("add the TS demuxer"))?;
        src.link(&demux)
            .map_err(RenderError::gst("link the TS demuxer"))?;
        let out = Out::new(feed);
        let bin = pipeline.downgrade();
        demux.connect_pad_added(move |_, pad| {
            let Some(pipeline) = bin.upgrade() else {
                return;
            };
            if let Err(e) = branch(&pipeline, pad, out.clone()) {
                tracing::warn!(error = %e, "cannot demux an SRT feed's stream");
            }
        });
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|_| RenderError::StateChange {
                what: "start the SRT demuxer".into(),
            })?;
        Ok(TsDemux { pipeline, src })
    }

    /// Hands the demuxer TS bytes as they arrive.
    pub fn push(&self, bytes: &[u8]) {
        // A full queue or a stopped pipeline drops the bytes: the reader never blocks.
        let _ = self
            .src
            .push_buffer(gst::Buffer::from_slice(bytes.to_vec()));
    }

    /// The demuxer's first error (not MPEG-TS, a broken stream), if it has failed.
    pub fn error(&self) -> Option<String> {
        let bus = self.pipeline.bus()?;
        let msg = bus.pop_filtered(&[gst::MessageType::Error])?;
        match msg.view() {
            gst::MessageView::Error(e) => Some(e.error().to_string()),
            _ => None,
        }
    }
}

impl Drop for TsDemux {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// Links one elementary stream of the TS to its parser and sink, or drops it.
fn branch(pipeline: &gst::Pipeline, pad: &gst::Pad, out: Out) -> Result<(), RenderError> {
    let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
    let name = caps
        .structure(0)
        .map(|s| s.name().to_string())
        .unwrap_or_default();
    // MPEG-1/2 layer audio (MP2, MP3) shares the media type with AAC.
    let mpeg_audio_layer = caps
        .structure(0)
        .and_then(|s| s.get::<i32>("mpegversion").ok())
        == Some(1);
    let (parser, want, kind) = match name.as_str() {
        "video/x-h264" => (
            "h264parse",
            gst::Caps::builder("video/x-h264")
                .field("stream-format", "avc")
                .field("alignment", "au")
                .build(),
            TagKind::Video,
        ),
        "audio/mpeg" if !mpeg_audio_layer => (
            "aacparse",
            // ADTS in (TS carries AAC as mpegversion 2 or 4), AudioSpecificConfig out.
            gst::Caps::builder("audio/mpeg")
                .field("stream-format", "raw")
                .build(),
            TagKind::Audio,
        ),
        other => {
            tracing::info!(caps = %other, "SRT feed stream not supported (H.264 and AAC are); dropped");
            let sink = make("fakesink")?;
            sink.set_property("sync", false);
            pipeline
                .add(&sink)
                .map_err(RenderError::gst("add a sink for an unused stream"))?;
            let _ = sink.sync_state_with_parent();
            return pad
                .link(
                    &sink
                        .static_pad("sink")
                        .ok_or(RenderError::MissingElement("fakesink sink pad".into()))?,
                )
                .map(|_| ())
                .map_err(|e| link_failed("an unused stream", e));
        }
    };
    let parse = make(parser)?;
    let sink = tag_sink(&want, kind, out);
    pipeline
        .add_many([&parse, sink.upcast_ref()])
        .map_err(RenderError::gst("add a parser"))?;
    gst::Element::link_many([&parse, sink.upcast_ref()])
        .map_err(RenderError::gst("link a parser"))?;
    for e in [&parse, sink.upcast_ref()] {
        let _ = e.sync_state_with_parent();
    }
    let sink_pad = parse
        .static_pad("sink")
        .ok_or(RenderError::MissingElement(format!("{parser} sink pad")))?;
    pad.link(&sink_pad)
        .map(|_| ())
        .map_err(|e| link_failed(parser, e))
}

/// An appsink taking parsed access units in `want` and pushing them to `out` as tags.
pub fn tag_sink(want: &gst::Caps, kind: TagKind, out: Out) -> gst_app::AppSink {
    let sink = gst_app::AppSink::builder()
        .caps(want)
        .sync(false)
        .max_buffers(64)
        .drop(true)
        .build();
    let mut last_config: Option<Bytes> = None;
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let config = sample
                    .caps()
                    .and_then(|c| c.structure(0))
                    .and_then(|s| s.get::<gst::Buffer>("codec_data").ok())
                    .and_then(|b| b.map_readable().ok().map(|m| Bytes::copy_from_slice(&m)));
                if let Some(buffer) = sample.buffer() {
                    tags(&out, kind, config, &mut last_config, buffer);
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    sink
}

fn link_failed(what: &str, e: gst::PadLinkError) -> RenderError {
    RenderError::Pipeline {
        element: "tsdemux".into(),
        message: format!("cannot link {what}: {e}"),
        debug: None,
    }
}

/// The FLV tags of one parsed access unit: the decoder configuration first when it is new.
fn tags(
    out: &Out,
    kind: TagKind,
    config: Option<Bytes>,
    last_config: &mut Option<Bytes>,
    buffer: &gst::BufferRef,
) {
    let Some(dts) = buffer.dts().or(buffer.pts()) else {
        return;
    };
    let ts = out.millis(dts);
    if let Some(config) = config.filter(|c| last_config.as_ref() != Some(c)) {
        let mut b = BytesMut::new();
        match kind {
            TagKind::Video => b.put_slice(&[0x10 | AVC, 0, 0, 0, 0]),
            TagKind::Audio => b.put_slice(&[AAC_BYTE, 0]),
        }
        b.put_slice(&config);
        out.push(kind, ts, b.freeze());
        *last_config = Some(config);
    }
    // Media before its configuration cannot be decoded by anyone.
    if last_config.is_none() {
        return;
    }
    let Ok(map) = buffer.map_readable() else {
        return;
    };
    let mut b = BytesMut::with_capacity(map.len() + 5);
    match kind {
        TagKind::Video => {
            let key = !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT);
            let cts = buffer
                .pts()
                .map(|pts| pts.mseconds() as i64 - dts.mseconds() as i64)
                .unwrap_or(0)
                .clamp(-(1 << 23), (1 << 23) - 1) as i32;
            b.put_u8(if key { 0x10 } else { 0x20 } | AVC);
            b.put_u8(1);
            b.put_slice(&cts.to_be_bytes()[1..]);
        }
        TagKind::Audio => b.put_slice(&[AAC_BYTE, 1]),
    }
    b.put_slice(&map);
    out.push(kind, ts, b.freeze());
}
