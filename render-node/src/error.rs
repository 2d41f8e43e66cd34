//! The render node library's error type.

use gstreamer as gst;

/// Everything the engine can fail at, each saying what it was doing.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// GStreamer was not initialised or a plugin is missing.
    #[error("GStreamer element {0:?} is not available (is its plugin package installed?)")]
    MissingElement(String),
    /// A GStreamer call failed.
    #[error("could not {what}: {source}")]
    Gst {
        what: String,
        #[source]
        source: gst::glib::BoolError,
    },
    /// A state change was refused.
    #[error("could not {what}: state change failed")]
    StateChange { what: String },
    /// An element posted an error.
    #[error("{element}: {message}")]
    Pipeline {
        element: String,
        message: String,
        debug: Option<String>,
    },
    /// Media could not be read.
    #[error("could not fetch {url}: {reason}")]
    Fetch { url: String, reason: String },
    /// Image bytes did not decode.
    #[error("could not decode image {url}: {reason}")]
    Decode { url: String, reason: String },
    /// A URL the operator's media policy refuses.
    #[error("{0}")]
    Refused(String),
    /// The stream description is not renderable.
    #[error("invalid stream: {0}")]
    InvalidSpec(String),
    /// The stream is no longer running.
    #[error("the stream has stopped")]
    Stopped,
    /// A stream's own process failed or could not be talked to.
    #[error("stream process: {0}")]
    Isolation(String),
    /// An I/O failure (scene files).
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl RenderError {
    /// Wraps a GStreamer error with what we were doing.
    pub fn gst(what: impl Into<String>) -> impl FnOnce(gst::glib::BoolError) -> RenderError {
        let what = what.into();
        move |source| RenderError::Gst { what, source }
    }
}

/// Makes an element by factory name, naming the factory when it is missing.
pub fn make(factory: &str) -> Result<gst::Element, RenderError> {
    gst::ElementFactory::make(factory)
        .build()
        .map_err(|_| RenderError::MissingElement(factory.to_owned()))
}

/// Makes a named element.
pub fn make_named(factory: &str, name: &str) -> Result<gst::Element, RenderError> {
    gst::ElementFactory::make(factory)
        .name(name)
        .build()
        .map_err(|_| RenderError::MissingElement(factory.to_owned()))
}

/// Result alias for the library.
pub type Result<T, E = RenderError> = std::result::Result<T, E>;
