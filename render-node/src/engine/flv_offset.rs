//! Output timestamps that start later than zero: a stream's process restarted after a
//! crash goes on from where the old one was, so a receiver sees time continue rather than
//! jump back. The muxer's FLV tags are shifted on their way to the outputs — the RTMP sink
//! takes each message's timestamp from its tag — leaving the pipeline's own clock alone.

use gstreamer as gst;
use gstreamer::prelude::*;

/// Adds `offset_ms` to the timestamp of every FLV audio and video tag leaving `mux_tee`'s
/// sink pad (the muxer's output). Buffers that are not exactly one such tag pass untouched.
pub fn shift_timestamps(mux_tee: &gst::Element, offset_ms: u64) {
    let Some(pad) = mux_tee.static_pad("sink") else {
        return;
    };
    // FLV timestamps are 32-bit milliseconds: they wrap, as receivers expect them to.
    let offset = offset_ms as u32;
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(gst::PadProbeData::Buffer(buffer)) = info.data.as_mut()
            && let Ok(mut map) = buffer.make_mut().map_writable()
        {
            shift_tag(&mut map, offset);
        }
        gst::PadProbeReturn::Ok
    });
}

/// Shifts one whole FLV audio (8) or video (9) tag's timestamp; false when `tag` is not one.
pub fn shift_tag(tag: &mut [u8], offset_ms: u32) -> bool {
    if tag.len() < 15 || !matches!(tag[0], 8 | 9) {
        return false;
    }
    let size = u32::from_be_bytes([0, tag[1], tag[2], tag[3]]) as usize;
    // Header (11) + data + the trailing previous-tag-size (4).
    if 11 + size + 4 != tag.len() {
        return false;
    }
    // 24 bits, then the extended high byte.
    let ts = u32::from_be_bytes([tag[7], tag[4], tag[5], tag[6]]);
    let [hi, b1, b2, b3] = ts.wrapping_add(offset_ms).to_be_bytes();
    tag[4] = b1;
    tag[5] = b2;
    tag[6] = b3;
    tag[7] = hi;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(kind: u8, ts: u32, data: &[u8]) -> Vec<u8> {
        let size = (data.len() as u32).to_be_bytes();
        let t = ts.to_be_bytes();
        let mut v = vec![
            kind, size[1], size[2], size[3], t[1], t[2], t[3], t[0], 0, 0, 0,
        ];
        v.extend_from_slice(data);
        v.extend_from_slice(&(11 + data.len() as u32).to_be_bytes());
        v
    }

    #[test]
    fn audio_and_video_tags_move_by_the_offset_and_nothing_else_does() {
        let mut video = tag(9, 40, &[0x17, 1, 0, 0, 0]);
        assert!(shift_tag(&mut video, 90_000));
        assert_eq!(video, tag(9, 90_040, &[0x17, 1, 0, 0, 0]));
        // Past 24 bits the extended byte carries the top.
        let mut audio = tag(8, 0x00ff_ffff, &[0xaf, 1]);
        assert!(shift_tag(&mut audio, 2));
        assert_eq!(audio, tag(8, 0x0100_0001, &[0xaf, 1]));
        let mut meta = tag(18, 0, &[2, 0, 0]);
        assert!(!shift_tag(&mut meta, 5));
        let mut header = b"FLV\x01\x05\0\0\0\x09\0\0\0\0".to_vec();
        assert!(!shift_tag(&mut header, 5));
        let mut two = [tag(9, 1, &[1]), tag(9, 2, &[1])].concat();
        assert!(!shift_tag(&mut two, 5), "only exactly one tag is rewritten");
    }
}
