//! What a layer's decoder may fetch and decode.
//!
//! The media policy is applied to the layer's URL before anything opens it, but a decoder
//! makes fetches of its own: an HLS or DASH demuxer reads the playlist's segment URLs, an
//! SDP demuxer the addresses in the description. Every source element created anywhere
//! under a layer's decoder is checked against the policy before it may start (a refused one
//! is locked in `NULL`, so it never connects); demuxers that fetch through their own HTTP
//! client, where no element can be checked, are never plugged. Pictures larger than
//! [`MAX_DECODED_PIXELS`] are refused from their caps, before a decoder allocates them.
//!
//! What went wrong reaches the tenant only as [`MEDIA_NOT_LOADED`], or with a reason about
//! their own media (its picture size, a format the node does not fetch): never a URL the
//! decoder found inside it nor a network error's detail (a status oracle for internal
//! services).

use std::sync::Arc;

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use parking_lot::Mutex;
use shared::media_url::{MediaPolicy, UrlUse, canonical_inside};

use crate::error::{RenderError, Result};

/// What a tenant is told when a layer's media cannot be loaded, whatever the reason.
pub const MEDIA_NOT_LOADED: &str = "media could not be loaded";

/// Largest picture a layer's decoder may produce: UHD and DCI 4K fit (the canvas is at most
/// 3840x2160), and uploaded images are capped at 4096 px a side by the API.
pub const MAX_DECODED_PIXELS: u64 = 4096 * 4096;

/// `GstAutoplugSelectResult` values (`gst-plugins-base`, `gstplay-enum.h`).
const SELECT_TRY: i32 = 0;
const SELECT_SKIP: i32 = 2;

/// Why a guarded decoder refused something, in words its tenant may read. The first
/// refusal wins: it is the cause, later errors are its consequences.
#[derive(Debug, Clone, Default)]
pub struct Verdict(Arc<Mutex<Option<String>>>);

impl Verdict {
    /// The reason, once something was refused.
    pub fn get(&self) -> Option<String> {
        self.0.lock().clone()
    }

    fn set(&self, reason: String) {
        self.0.lock().get_or_insert(reason);
    }
}

/// Checks `raw` just before a node opens it: the policy (literal, then the name's
/// addresses) and, for `file://`, the path resolved through symlinks staying inside
/// `MEDIA_ROOT`. A path that cannot be resolved is refused the same way: no detail about the
/// node's filesystem reaches the tenant.
pub fn check_before_open(policy: &MediaPolicy, field: &str, raw: &str, what: UrlUse) -> Result<()> {
    let checked = policy
        .check_reachable(field, raw, what)
        .map_err(|e| RenderError::Refused(e.to_string()))?;
    if checked.scheme() == "file" {
        let inside = match (&policy.media_root, checked.to_file_path().ok()) {
            (Some(root), Some(path)) => canonical_inside(root, &path),
            _ => false,
        };
        if !inside {
            return Err(RenderError::Refused(format!(
                "{field}: file is not readable inside the media root"
            )));
        }
    }
    Ok(())
}

/// Guards a `uridecodebin` or `decodebin` before it starts: nested sources checked against
/// `policy` (`None`: the operator's own files, nothing checked but still no self-fetching
/// demuxers), pictures over the limit refused. Refusals are recorded in `verdict`.
pub fn guard(decoder: &gst::Element, policy: Option<MediaPolicy>, verdict: &Verdict) -> Result<()> {
    let select = glib::Type::from_name("GstAutoplugSelectResult")
        .filter(|t| select_value(*t, SELECT_SKIP).is_some())
        .ok_or_else(|| RenderError::MissingElement("GstAutoplugSelectResult".into()))?;
    let v = verdict.clone();
    decoder.connect("autoplug-select", false, move |args| {
        let caps = args.get(2).and_then(|a| a.get::<gst::Caps>().ok());
        let factory = args.get(3).and_then(|a| a.get::<gst::ElementFactory>().ok());
        match plug_refusal(caps.as_ref(), factory.as_ref()) {
            Some(reason) => {
                tracing::warn!(factory = ?factory.map(|f| f.name()), %reason, "decoder not plugged");
                v.set(reason);
                select_value(select, SELECT_SKIP)
            }
            None => select_value(select, SELECT_TRY),
        }
    });
    decoder.connect("deep-element-added", false, move |args| {
        if let Some(element) = args.get(2).and_then(|a| a.get::<gst::Element>().ok()) {
            check_source(&element, policy.as_ref());
        }
        None
    });
    Ok(())
}

/// A `GstAutoplugSelectResult` value (checked to exist when the guard is set up).
fn select_value(ty: glib::Type, n: i32) -> Option<glib::Value> {
    glib::EnumClass::with_type(ty)?.to_value(n)
}

/// Why `factory` must not decode a stream with `caps`, if it must not.
fn plug_refusal(caps: Option<&gst::Caps>, factory: Option<&gst::ElementFactory>) -> Option<String> {
    if let Some(s) = caps.and_then(|c| c.structure(0))
        && let (Ok(w), Ok(h)) = (s.get::<i32>("width"), s.get::<i32>("height"))
        && u64::from(w.unsigned_abs()) * u64::from(h.unsigned_abs()) > MAX_DECODED_PIXELS
    {
        return Some(format!(
            "its pictures are {w}x{h}, over the limit of {MAX_DECODED_PIXELS} pixels (4096x4096)"
        ));
    }
    let klass = factory
        .and_then(|f| f.metadata(gst::ELEMENT_METADATA_KLASS))
        .unwrap_or_default();
    // Adaptive demuxers (HLS, DASH, Smooth Streaming) fetch segments through an HTTP client
    // of their own (or reuse one source element for every segment): nothing to check.
    // Network demuxers (SDP) open whatever addresses the file names.
    (klass.contains("Adaptive") || klass.contains("Network"))
        .then(|| "it is a playlist or network description (HLS, DASH, SDP), which this node does not follow".into())
}

/// Refuses a source element below a layer's decoder whose URI the policy does not allow:
/// it is locked in `NULL` (so the bin's state changes never start it) and an error posted.
fn check_source(element: &gst::Element, policy: Option<&MediaPolicy>) {
    let Some(handler) = element.dynamic_cast_ref::<gst::URIHandler>() else {
        return;
    };
    if handler.uri_type() != gst::URIType::Src {
        return;
    }
    super::fetch::refuse_redirects(element);
    let Some(policy) = policy else {
        return;
    };
    let uri = handler.uri().map(|u| u.to_string());
    let refused = match uri.as_deref() {
        // Sockets an RTSP source binds to receive RTP on: local ports, not fetches.
        Some(u) if u.starts_with("udp://") => None,
        // The layer's own URL was checked for its use before the decoder opened it; what
        // its decoder opens besides may be any scheme a video or a pulled stream may have
        // (a pulled `srt://` makes an `srtsrc`), under the same address rules.
        Some(u) => {
            let what = if u.starts_with("srt://") {
                UrlUse::Pull
            } else {
                UrlUse::Video
            };
            check_before_open(policy, "source.uri", u, what).err()
        }
        None => Some(RenderError::Refused("a source without a URI".into())),
    };
    if let Some(e) = refused {
        element.set_locked_state(true);
        tracing::warn!(element = %element.name(), uri = uri.as_deref().unwrap_or(""), error = %e,
            "nested fetch refused");
        gst::element_error!(
            element,
            gst::ResourceError::NotAuthorized,
            ("{}", MEDIA_NOT_LOADED),
            ["refused by the media policy"]
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_over_the_limit_and_self_fetching_demuxers_are_refused() {
        gst::init().unwrap();
        let big = gst::Caps::builder("image/png")
            .field("width", 16384i32)
            .field("height", 16384i32)
            .build();
        let uhd = gst::Caps::builder("video/x-h264")
            .field("width", 3840i32)
            .field("height", 2160i32)
            .build();
        assert!(
            plug_refusal(Some(&big), None)
                .unwrap()
                .contains("16384x16384")
        );
        assert!(plug_refusal(Some(&uhd), None).is_none());
        for name in ["hlsdemux", "hlsdemux2", "dashdemux2", "sdpdemux"] {
            if let Some(f) = gst::ElementFactory::find(name) {
                assert!(plug_refusal(Some(&uhd), Some(&f)).is_some(), "{name}");
            }
        }
        let qt = gst::ElementFactory::find("qtdemux").unwrap();
        assert!(plug_refusal(Some(&uhd), Some(&qt)).is_none());
    }
}
