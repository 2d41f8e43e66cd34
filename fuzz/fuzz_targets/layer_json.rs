//! A layer as stored and sent to nodes: what deserialises is valid (the type validates while
//! parsing), keeps its kind and source in agreement, and round-trips through JSON. A layer's
//! `source` parsed on its own by kind agrees with the whole layer's.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::layer::{Layer, LayerKind, LayerSource};

fuzz_target!(|data: &[u8]| {
    if let Ok(layer) = serde_json::from_slice::<Layer>(data) {
        layer
            .validate()
            .unwrap_or_else(|e| panic!("a deserialised layer is invalid ({e}): {layer:?}"));
        assert_eq!(layer.kind, layer.source.kind());
        let back = fuzz_props::assert_json_round_trip(&layer);
        back.validate().expect("still valid after a round trip");
        let source = serde_json::to_value(&layer.source).expect("source serialises");
        assert_eq!(
            LayerSource::parse(layer.kind, source).as_ref(),
            Ok(&layer.source)
        );
    }
    // The API reads `source` by the kind the tenant names: try every kind on the same bytes.
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    for kind in [
        LayerKind::Color,
        LayerKind::Image,
        LayerKind::Text,
        LayerKind::Video,
        LayerKind::Ingest,
    ] {
        if let Ok(source) = LayerSource::parse(kind, value.clone()) {
            assert_eq!(source.kind(), kind);
            source.validate().expect("a parsed source validates");
            let again = serde_json::to_value(&source).expect("source serialises");
            assert_eq!(
                LayerSource::parse(kind, again).as_ref(),
                Ok(&source),
                "{kind:?}"
            );
        }
    }
});
