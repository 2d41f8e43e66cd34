//! SRT ingest: publishers call `srt://SRT_ADDR?streamid=#!::r=live/{streamKey},m=publish`
//! (or a bare key as the stream id) with MPEG-TS (H.264 + AAC) inside, and the feed joins
//! the same hub, relay and ingest layers as an RTMP feed, its key checked the same way
//! ([`super::admit`]).
//!
//! Built on libsrt (through the `srt-ffi` crate), the reference implementation every SRT
//! encoder is tested against: one UDP port serves any number of callers, the handshake callback sees each caller's stream
//! id and can refuse it with an SRT rejection code, and a per-connection passphrase can be
//! set there (not used yet: keys carry none).
//!
//! - [`stream_id`]: the stream key in a caller's stream id.
//! - [`listener`]: the listener and its handshake decisions.
//! - [`connection`]: one publisher: key check, reading, closing.
//! - [`demux`]: MPEG-TS into the FLV tags every feed is kept in.

pub mod connection;
pub mod demux;
pub mod listener;
pub mod stream_id;

pub use listener::serve;
