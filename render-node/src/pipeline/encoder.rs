//! Choosing and configuring the encoders from the stream config.

use gstreamer as gst;
use gstreamer::prelude::*;
use shared::stream_config::StreamConfig;

use crate::error::{RenderError, Result, make};

/// Hardware H.264 encoders tried, in order, when `ENABLE_HARDWARE_ACCELERATION` is on.
const HW_ENCODERS: &[&str] = &["nvh264enc", "vah264enc", "vaapih264enc", "v4l2h264enc"];
/// AAC encoders in order of preference (Debian 12: `avenc_aac` from gstreamer1.0-libav,
/// `voaacenc` from -bad; `fdkaacenc` is only in non-free builds).
const AAC_ENCODERS: &[&str] = &["avenc_aac", "fdkaacenc", "voaacenc"];

/// An H.264 encoder configured for `config`, and the factory used.
pub fn video_encoder(
    config: &StreamConfig,
    stream_id: &str,
) -> Result<(gst::Element, &'static str)> {
    if config.hardware_acceleration {
        for name in HW_ENCODERS {
            if let Ok(e) = make(name) {
                if e.has_property("bitrate") {
                    e.set_property_from_str("bitrate", &config.bitrate.kbps.to_string());
                }
                return Ok((e, name));
            }
        }
        tracing::warn!(
            stream_id,
            "no hardware H.264 encoder on this node, falling back to x264"
        );
    }
    let x264 = make("x264enc")?;
    x264.set_property_from_str("speed-preset", config.x264_preset());
    x264.set_property_from_str("tune", "zerolatency");
    x264.set_property("bitrate", config.bitrate.kbps);
    // A keyframe every 2 s: what YouTube and Twitch ask for, and the longest a new viewer waits.
    x264.set_property("key-int-max", config.target_fps.max(1) * 2);
    Ok((x264, "x264enc"))
}

/// Changes the bitrate of a running encoder (x264enc takes it in PLAYING).
pub fn set_bitrate(encoder: &gst::Element, kbps: u32) {
    if encoder.has_property_with_type("bitrate", u32::static_type()) {
        encoder.set_property("bitrate", kbps);
    }
}

/// The first AAC encoder available, at 128 kbit/s.
pub fn audio_encoder() -> Result<gst::Element> {
    for name in AAC_ENCODERS {
        if let Ok(e) = make(name) {
            if e.has_property_with_type("bitrate", i32::static_type()) {
                e.set_property("bitrate", 128_000i32);
            }
            // gst-libav sets FFmpeg's encoder to force mid/side coding and to use intensity
            // stereo: a hard-panned layer (its `pan`) then decodes as the same sound in both
            // channels. Plain left/right coding keeps a pan where it was put.
            for option in ["aac-is", "aac-ms"] {
                if e.has_property_with_type(option, bool::static_type()) {
                    e.set_property(option, false);
                }
            }
            return Ok(e);
        }
    }
    Err(RenderError::MissingElement(AAC_ENCODERS.join(" or ")))
}
