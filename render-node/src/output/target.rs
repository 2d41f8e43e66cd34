//! What a destination is: an RTMP(S) URL, an FLV file, or nowhere; read from the command
//! line and shown with its stream key masked.

use std::path::PathBuf;

use shared::tenant_text::mask_output_url;

/// Where muxed FLV goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputTarget {
    /// An RTMP(S) URL, stream key included.
    Rtmp(String),
    /// An FLV file.
    File(PathBuf),
    /// Nowhere (benchmarks).
    Null,
}

impl OutputTarget {
    /// Reads a command-line destination: `rtmp(s)://…`, `null`, or a file path.
    pub fn parse(s: &str) -> Self {
        if s.starts_with("rtmp://") || s.starts_with("rtmps://") {
            OutputTarget::Rtmp(s.to_owned())
        } else if s == "null" {
            OutputTarget::Null
        } else {
            OutputTarget::File(PathBuf::from(s))
        }
    }

    /// What status and logs show: RTMP keys masked.
    pub fn display(&self) -> String {
        match self {
            OutputTarget::Rtmp(u) => mask_output_url(u),
            OutputTarget::File(p) => p.display().to_string(),
            OutputTarget::Null => "null".into(),
        }
    }
}
