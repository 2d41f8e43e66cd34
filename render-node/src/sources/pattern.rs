//! Test patterns (`testsrc://PATTERN?property=value`) and setting element properties from
//! their string forms without panicking on names or values GStreamer does not know.

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::error::{RenderError, Result};

/// Applies `PATTERN[?property=value&…]` to a `videotestsrc`, refusing unknown names and
/// values instead of panicking on them.
pub(crate) fn configure_pattern(src: &gst::Element, spec: &str) -> Result<()> {
    let (pattern, query) = spec.split_once('?').unwrap_or((spec, ""));
    let bad = |what: String| RenderError::InvalidSpec(format!("testsrc://{spec}: {what}"));
    if !try_set(src, "pattern", pattern) {
        return Err(bad(format!("unknown pattern {pattern:?}")));
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| bad(format!("{pair:?} is not key=value")))?;
        if k == "is-live" || !try_set(src, k, v) {
            return Err(bad(format!("cannot set {k:?} to {v:?}")));
        }
    }
    Ok(())
}

/// Sets a writable property from its string form; false when there is no such property or
/// the value does not parse (where `set_property_from_str` would panic).
pub(crate) fn try_set(e: &gst::Element, name: &str, value: &str) -> bool {
    let Some(pspec) = e.find_property(name) else {
        return false;
    };
    if !pspec.flags().contains(gst::glib::ParamFlags::WRITABLE) {
        return false;
    }
    match gst::glib::Value::deserialize(value, pspec.value_type()) {
        Ok(v) => {
            e.set_property_from_value(name, &v);
            true
        }
        Err(_) => false,
    }
}
