//! The stream config document (`GET/PATCH /stream/config`, and inside every command): a
//! config that parses and validates still validates, unchanged, after a JSON round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::stream_config::StreamConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(config) = serde_json::from_slice::<StreamConfig>(data) else {
        return;
    };
    let valid = config.validate().is_ok();
    let back = fuzz_props::assert_json_round_trip(&config);
    assert_eq!(
        back.validate().is_ok(),
        valid,
        "validation changed across a round trip: {config:?}"
    );
    if valid {
        // Every valid quality maps to a preset.
        assert!(!back.x264_preset().is_empty());
    }
});
