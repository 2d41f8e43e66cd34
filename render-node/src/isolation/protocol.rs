//! The one place that decides what a node and its stream processes say to each other over
//! their socket: the message shapes, and their framing (a 4-byte big-endian length, then
//! that many bytes of JSON of the crate's and `shared`'s own types).
//!
//! Both ends are this binary, so the shapes need no versioning; a frame over
//! [`MAX_FRAME`] (a broken or hostile child) ends the link rather than being allocated.

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};
use shared::audio::AudioLevels;
use shared::spec::StreamSpec;
use shared::status::LiveReport;

use crate::engine::{Applied, NodeEvent};
use crate::error::RenderError;

/// The largest frame either end reads (a snapshot JPEG as JSON numbers fits well within).
pub const MAX_FRAME: usize = 16 << 20;

/// What the node sends a stream process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ToChild {
    /// Start this stream. Sent once, first.
    #[serde(rename_all = "camelCase")]
    Start {
        spec: Box<StreamSpec>,
        node_id: String,
        /// The control-plane base URLs image layers' assets are fetched from.
        asset_bases: Vec<String>,
        /// Where the stream's output timestamps start (ms): a restarted process goes on
        /// from where the crashed one was, so receivers see time continue.
        timestamp_offset_ms: u64,
    },
    /// Apply a newer spec; answered with [`FromChild::Reply`].
    Apply { id: u64, spec: Box<StreamSpec> },
    /// A JPEG of the frame on air; answered with [`FromChild::Reply`].
    Snapshot { id: u64, quality: u8 },
    /// End the stream cleanly; answered with [`FromChild::Ended`], then the process exits.
    Stop,
}

/// What a stream process sends its node.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum FromChild {
    /// The answer to [`ToChild::Start`]: `Err` when the stream cannot run at all.
    Started { result: Result<(), WireError> },
    /// The stream's report, several times a second, and how far its output timestamps
    /// have got (ms, offset included).
    #[serde(rename_all = "camelCase")]
    Report {
        report: Box<LiveReport>,
        position_ms: u64,
    },
    /// One of the stream's events, as the in-process engine sends them.
    Event { event: NodeEvent },
    /// The stream's audio levels over the last meter period (`METER_HZ` a second).
    Levels { levels: AudioLevels },
    /// The answer to the request `id`.
    Reply {
        id: u64,
        result: Result<Answer, WireError>,
    },
    /// The stream ended (stopped, or failed with `failure`); the process exits next.
    Ended {
        report: Box<LiveReport>,
        failure: Option<String>,
    },
}

/// A request's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Answer {
    Applied { applied: WireApplied },
    Snapshot { jpeg: Option<Vec<u8>> },
}

/// [`Applied`] on the wire.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum WireApplied {
    AtFrame { frame: u64 },
    Ignored,
    Restarted,
}

impl From<Applied> for WireApplied {
    fn from(a: Applied) -> Self {
        match a {
            Applied::AtFrame(frame) => WireApplied::AtFrame { frame },
            Applied::Ignored => WireApplied::Ignored,
            Applied::Restarted => WireApplied::Restarted,
        }
    }
}

impl From<WireApplied> for Applied {
    fn from(a: WireApplied) -> Self {
        match a {
            WireApplied::AtFrame { frame } => Applied::AtFrame(frame),
            WireApplied::Ignored => Applied::Ignored,
            WireApplied::Restarted => Applied::Restarted,
        }
    }
}

/// A [`RenderError`] on the wire: the kinds the fleet tells apart, and the message.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", content = "message", rename_all = "camelCase")]
pub enum WireError {
    InvalidSpec(String),
    Refused(String),
    Stopped,
    Other(String),
}

impl From<&RenderError> for WireError {
    fn from(e: &RenderError) -> Self {
        match e {
            RenderError::InvalidSpec(m) => WireError::InvalidSpec(m.clone()),
            RenderError::Refused(m) => WireError::Refused(m.clone()),
            RenderError::Stopped => WireError::Stopped,
            other => WireError::Other(other.to_string()),
        }
    }
}

impl From<WireError> for RenderError {
    fn from(e: WireError) -> Self {
        match e {
            WireError::InvalidSpec(m) => RenderError::InvalidSpec(m),
            WireError::Refused(m) => RenderError::Refused(m),
            WireError::Stopped => RenderError::Stopped,
            WireError::Other(m) => RenderError::Isolation(m),
        }
    }
}

/// Writes one frame.
pub fn write_frame<T: Serialize>(w: &mut impl Write, msg: &T) -> io::Result<()> {
    let body = serde_json::to_vec(msg).map_err(io::Error::other)?;
    let len = u32::try_from(body.len())
        .ok()
        .filter(|l| (*l as usize) <= MAX_FRAME)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "frame too large"))?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&body);
    // One write per frame: several threads write through clones of one socket under a lock.
    w.write_all(&frame)?;
    w.flush()
}

/// Reads one frame; `Ok(None)` at a clean end of the stream.
pub fn read_frame<T: for<'de> Deserialize<'de>>(r: &mut impl Read) -> io::Result<Option<T>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_oversized_ones_are_refused() {
        let mut buf = Vec::new();
        let msg = FromChild::Event {
            event: NodeEvent::SourceError {
                source: "video".into(),
                message: "gone".into(),
            },
        };
        write_frame(&mut buf, &msg).unwrap();
        write_frame(&mut buf, &ToChild::Stop).unwrap();
        let mut r = buf.as_slice();
        let back: FromChild = read_frame(&mut r).unwrap().unwrap();
        assert!(matches!(
            back,
            FromChild::Event {
                event: NodeEvent::SourceError { .. }
            }
        ));
        let stop: ToChild = read_frame(&mut r).unwrap().unwrap();
        assert!(matches!(stop, ToChild::Stop));
        assert!(read_frame::<ToChild>(&mut r).unwrap().is_none());

        let huge = ((MAX_FRAME + 1) as u32).to_be_bytes();
        assert!(read_frame::<ToChild>(&mut huge.as_slice()).is_err());
    }
}
