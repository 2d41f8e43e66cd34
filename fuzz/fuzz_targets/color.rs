//! `#RRGGBB[AA]` colors: whatever parses prints canonically and parses back to itself, and
//! the packed ARGB word carries the same channels.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::color::Rgba;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(c) = s.parse::<Rgba>() else {
        return;
    };
    // Only the two documented forms are colors.
    assert!(s.len() == 7 || s.len() == 9, "{s:?} accepted");
    let printed = c.to_string();
    assert_eq!(
        printed.parse::<Rgba>(),
        Ok(c),
        "{s:?} printed as {printed:?}"
    );
    assert!(
        printed.eq_ignore_ascii_case(s) || (s.len() == 9 && c.a == 255),
        "{s:?} printed as {printed:?}"
    );
    assert_eq!(c.to_argb().to_be_bytes(), [c.a, c.r, c.g, c.b]);
    fuzz_props::assert_json_round_trip(&c);
});
