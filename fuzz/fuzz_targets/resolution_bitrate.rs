//! `STREAM_RESOLUTION` and `STREAM_BITRATE` strings: whatever parses is in range, prints in a
//! canonical form that parses to the same value, and survives the JSON form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::stream_config::{Bitrate, Resolution};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = s.parse::<Resolution>() {
        assert!(
            (160..=3840).contains(&r.width) && (90..=2160).contains(&r.height),
            "{s:?} -> {r:?}"
        );
        assert!(r.width % 2 == 0 && r.height % 2 == 0, "{s:?} -> odd {r:?}");
        let printed = r.to_string();
        assert_eq!(
            printed.parse::<Resolution>(),
            Ok(r),
            "{s:?} printed as {printed:?}"
        );
        // The printed form is canonical: printing it again changes nothing.
        assert_eq!(
            printed.parse::<Resolution>().map(|r| r.to_string()),
            Ok(printed.clone())
        );
        fuzz_props::assert_json_round_trip(&r);
    }
    if let Ok(b) = s.parse::<Bitrate>() {
        assert!((100..=50_000).contains(&b.kbps), "{s:?} -> {b:?}");
        let printed = b.to_string();
        assert_eq!(
            printed.parse::<Bitrate>(),
            Ok(b),
            "{s:?} printed as {printed:?}"
        );
        fuzz_props::assert_json_round_trip(&b);
    }
});
