//! FLV tags: the unit a published feed is kept, relayed and decoded in.
//!
//! An RTMP audio or video message body is exactly an FLV tag body, so a feed is a sequence of
//! [`Tag`]s from the moment it is published. They are written as an FLV byte stream for
//! GStreamer's `flvdemux` and for the relay between nodes, and read back by [`TagReader`]
//! on the node that receives a relayed feed.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// FLV tag type of audio data.
const AUDIO: u8 = 8;
/// FLV tag type of video data.
const VIDEO: u8 = 9;
/// The largest tag body FLV can describe (24-bit size).
pub const MAX_TAG_BYTES: usize = 0xFF_FFFF;
/// Tag header length.
const TAG_HEADER: usize = 11;
/// Length of the file header plus the first (zero) previous-tag-size field.
const FILE_HEADER: usize = 13;

/// What a tag carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    Audio,
    Video,
}

/// One audio or video tag of a feed, with its publisher's timestamp in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub kind: TagKind,
    pub timestamp: u32,
    pub data: Bytes,
}

impl Tag {
    /// A video tag that starts a group of pictures (legacy and enhanced RTMP frame types).
    pub fn is_keyframe(&self) -> bool {
        self.kind == TagKind::Video && self.data.first().is_some_and(|b| (b >> 4) & 0x07 == 1)
    }

    /// A decoder configuration record (AVC/HEVC sequence header, AAC AudioSpecificConfig):
    /// every subscriber needs the latest one before any media.
    pub fn is_sequence_header(&self) -> bool {
        let (Some(&b0), b1) = (self.data.first(), self.data.get(1).copied()) else {
            return false;
        };
        match self.kind {
            // AAC with packet type 0.
            TagKind::Audio => b0 >> 4 == 10 && b1 == Some(0),
            // Enhanced RTMP: the low nibble is the packet type, 0 = sequence start.
            TagKind::Video if b0 & 0x80 != 0 => b0 & 0x0F == 0,
            // Legacy AVC (codec 7) with AVCPacketType 0.
            TagKind::Video => b0 & 0x0F == 7 && b1 == Some(0),
        }
    }

    /// The tag as it appears in an FLV stream, followed by its previous-tag-size field.
    pub fn encode(&self, out: &mut BytesMut) {
        let len = self.data.len().min(MAX_TAG_BYTES);
        out.reserve(TAG_HEADER + len + 4);
        out.put_u8(match self.kind {
            TagKind::Audio => AUDIO,
            TagKind::Video => VIDEO,
        });
        out.put_uint(len as u64, 3);
        out.put_uint(u64::from(self.timestamp & 0xFF_FFFF), 3);
        out.put_u8((self.timestamp >> 24) as u8);
        out.put_uint(0, 3);
        out.put_slice(&self.data[..len]);
        out.put_u32((TAG_HEADER + len) as u32);
    }

    /// [`Tag::encode`] into a buffer of its own.
    pub fn to_bytes(&self) -> Bytes {
        let mut b = BytesMut::new();
        self.encode(&mut b);
        b.freeze()
    }
}

/// The FLV file header announcing audio and video, with the first previous-tag-size field.
pub fn file_header() -> Bytes {
    Bytes::from_static(&[b'F', b'L', b'V', 1, 0x05, 0, 0, 0, 9, 0, 0, 0, 0])
}

/// A malformed FLV stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlvError {
    #[error("not an FLV stream")]
    NotFlv,
    #[error("tag of {0} bytes exceeds the limit")]
    TooLarge(usize),
}

/// Reads tags back from FLV bytes arriving in chunks of any size (a relayed feed).
#[derive(Debug)]
pub struct TagReader {
    buf: BytesMut,
    header_seen: bool,
    max_tag: usize,
}

impl TagReader {
    /// A reader refusing tags larger than `max_tag` bytes.
    pub fn new(max_tag: usize) -> Self {
        TagReader {
            buf: BytesMut::new(),
            header_seen: false,
            max_tag: max_tag.min(MAX_TAG_BYTES),
        }
    }

    /// Adds bytes as they arrive.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete tag, `Ok(None)` until more bytes arrive. Script and unknown tags
    /// are skipped: nothing downstream needs them.
    pub fn next_tag(&mut self) -> Result<Option<Tag>, FlvError> {
        if !self.header_seen {
            if self.buf.len() < FILE_HEADER {
                return Ok(None);
            }
            if &self.buf[..3] != b"FLV" {
                return Err(FlvError::NotFlv);
            }
            let header_len =
                u32::from_be_bytes([self.buf[5], self.buf[6], self.buf[7], self.buf[8]]);
            let skip = usize::try_from(header_len).map_err(|_| FlvError::NotFlv)? + 4;
            if !(FILE_HEADER..=64).contains(&skip) {
                return Err(FlvError::NotFlv);
            }
            if self.buf.len() < skip {
                return Ok(None);
            }
            self.buf.advance(skip);
            self.header_seen = true;
        }
        loop {
            if self.buf.len() < TAG_HEADER {
                return Ok(None);
            }
            let kind = self.buf[0] & 0x1F;
            let len = (usize::from(self.buf[1]) << 16)
                | (usize::from(self.buf[2]) << 8)
                | usize::from(self.buf[3]);
            if len > self.max_tag {
                return Err(FlvError::TooLarge(len));
            }
            if self.buf.len() < TAG_HEADER + len + 4 {
                return Ok(None);
            }
            let timestamp = (u32::from(self.buf[7]) << 24)
                | (u32::from(self.buf[4]) << 16)
                | (u32::from(self.buf[5]) << 8)
                | u32::from(self.buf[6]);
            self.buf.advance(TAG_HEADER);
            let data = self.buf.split_to(len).freeze();
            self.buf.advance(4);
            let kind = match kind {
                AUDIO => TagKind::Audio,
                VIDEO => TagKind::Video,
                _ => continue,
            };
            return Ok(Some(Tag {
                kind,
                timestamp,
                data,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(kind: TagKind, ts: u32, data: &[u8]) -> Tag {
        Tag {
            kind,
            timestamp: ts,
            data: Bytes::copy_from_slice(data),
        }
    }

    #[test]
    fn tags_round_trip_through_bytes_split_anywhere() {
        let tags = vec![
            tag(TagKind::Video, 0, &[0x17, 0, 0, 0, 0, 1, 2, 3]),
            tag(TagKind::Audio, 21, &[0xAF, 1, 9, 9]),
            // Timestamps past 24 bits use the extension byte.
            tag(TagKind::Video, 0x0123_4567, &[0x27, 1, 0, 0, 0]),
        ];
        let mut all = BytesMut::from(&file_header()[..]);
        for t in &tags {
            t.encode(&mut all);
        }
        for split in [1, 3, 7, 13, 20, all.len()] {
            let mut r = TagReader::new(1 << 20);
            let mut got = Vec::new();
            for chunk in all.chunks(split) {
                r.feed(chunk);
                while let Some(t) = r.next_tag().unwrap() {
                    got.push(t);
                }
            }
            assert_eq!(got, tags, "split every {split} bytes");
        }
    }

    #[test]
    fn classifies_keyframes_and_sequence_headers() {
        assert!(tag(TagKind::Video, 0, &[0x17, 0]).is_keyframe());
        assert!(tag(TagKind::Video, 0, &[0x17, 0]).is_sequence_header());
        assert!(!tag(TagKind::Video, 0, &[0x17, 1]).is_sequence_header());
        assert!(!tag(TagKind::Video, 0, &[0x27, 1]).is_keyframe());
        // Enhanced RTMP: ex-header bit, keyframe, packet type 0 (sequence start).
        assert!(tag(TagKind::Video, 0, &[0x90, b'h', b'v', b'c', b'1']).is_sequence_header());
        assert!(tag(TagKind::Video, 0, &[0x91]).is_keyframe());
        assert!(tag(TagKind::Audio, 0, &[0xAF, 0, 0x12]).is_sequence_header());
        assert!(!tag(TagKind::Audio, 0, &[0xAF, 1]).is_sequence_header());
        assert!(!tag(TagKind::Audio, 0, &[]).is_sequence_header());
    }

    #[test]
    fn refuses_what_is_not_flv_or_too_large() {
        let mut r = TagReader::new(16);
        r.feed(b"HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!(r.next_tag(), Err(FlvError::NotFlv));
        let mut r = TagReader::new(16);
        r.feed(&file_header());
        let mut big = BytesMut::new();
        tag(TagKind::Video, 0, &[0; 17]).encode(&mut big);
        r.feed(&big);
        assert_eq!(r.next_tag(), Err(FlvError::TooLarge(17)));
    }

    #[test]
    fn skips_script_tags() {
        let mut all = BytesMut::from(&file_header()[..]);
        // A script tag (type 18) of 3 bytes, then an audio tag.
        all.extend_from_slice(&[18, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0, 14]);
        tag(TagKind::Audio, 5, &[0xAF, 1]).encode(&mut all);
        let mut r = TagReader::new(1024);
        r.feed(&all);
        assert_eq!(
            r.next_tag().unwrap(),
            Some(tag(TagKind::Audio, 5, &[0xAF, 1]))
        );
        assert_eq!(r.next_tag().unwrap(), None);
    }
}
