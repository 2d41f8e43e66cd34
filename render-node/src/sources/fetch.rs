//! Reading media bytes from a URI (`file://`, `http(s)://`) through GStreamer's own URI
//! sources, so the node needs no second HTTP stack and honours the same proxies and TLS.

use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::error::{RenderError, Result};

/// Largest image we read; the API caps uploads well below this.
pub const MAX_FETCH_BYTES: usize = 32 * 1024 * 1024;

/// Reads the whole resource at `uri`, failing past `max_bytes` or `timeout`.
pub fn fetch(uri: &str, max_bytes: usize, timeout: Duration) -> Result<Vec<u8>> {
    let fail = |reason: String| RenderError::Fetch {
        url: uri.to_owned(),
        reason,
    };
    let src = gst::Element::make_from_uri(gst::URIType::Src, uri, None)
        .map_err(|e| fail(format!("no source for this URI ({e})")))?;
    refuse_redirects(&src);
    let sink = gst_app::AppSink::builder().sync(false).build();
    let pipeline = gst::Pipeline::new();
    pipeline
        .add_many([&src, sink.upcast_ref()])
        .map_err(|e| fail(e.to_string()))?;
    src.link(&sink).map_err(|e| fail(e.to_string()))?;
    let guard = NullOnDrop(pipeline.clone());
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|_| fail(bus_error(&pipeline).unwrap_or_else(|| "cannot start reading".into())))?;
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    loop {
        if let Some(e) = bus_error(&pipeline) {
            return Err(fail(e));
        }
        if let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_mseconds(50)) {
            if let Some(buf) = sample.buffer() {
                let map = buf.map_readable().map_err(|e| fail(e.to_string()))?;
                if out.len() + map.len() > max_bytes {
                    return Err(fail(format!("larger than {max_bytes} bytes")));
                }
                out.extend_from_slice(&map);
            }
        } else if sink.is_eos() {
            break;
        }
        if Instant::now() > deadline {
            return Err(fail(format!("timed out after {timeout:?}")));
        }
    }
    drop(guard);
    Ok(out)
}

/// Turns off an HTTP source's redirects: URLs are checked (and their names resolved) before
/// a source opens them, and a redirect would take it somewhere nobody checked.
pub(crate) fn refuse_redirects(src: &gst::Element) {
    if src.find_property("automatic-redirect").is_some() {
        src.set_property("automatic-redirect", false);
    }
}

/// The first error message on the pipeline's bus, if any.
pub(crate) fn bus_error(pipeline: &gst::Pipeline) -> Option<String> {
    let bus = pipeline.bus()?;
    while let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error]) {
        if let gst::MessageView::Error(e) = msg.view() {
            return Some(e.error().to_string());
        }
    }
    None
}

/// Brings a helper pipeline down however the function leaves.
pub(crate) struct NullOnDrop(pub gst::Pipeline);

impl Drop for NullOnDrop {
    fn drop(&mut self) {
        let _ = self.0.set_state(gst::State::Null);
    }
}
