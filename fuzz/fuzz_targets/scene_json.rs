//! Scenes and the two kinds of transition (`POST /stream/scenes/{id}/activate`, layer PATCH
//! `transition`): what parses and validates still validates, unchanged, after a JSON round
//! trip, and easing curves stay within 0..=1 for any progress.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::scene::{Scene, validate_scene_name};
use shared::transition::{SceneTransition, Transition};

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = serde_json::from_slice::<SceneTransition>(data) {
        let valid = t.validate().is_ok();
        let back = fuzz_props::assert_json_round_trip(&t);
        assert_eq!(back.validate().is_ok(), valid);
        for p in [-1.0, 0.0, 0.25, 0.5, 0.75, 1.0, 2.0, f64::NAN] {
            let e = t.easing.apply(p);
            assert!(
                (0.0..=1.0).contains(&e) || (p.is_nan() && e.is_nan()),
                "{:?}({p}) = {e}",
                t.easing
            );
        }
    }
    if let Ok(t) = serde_json::from_slice::<Transition>(data) {
        let valid = t.validate().is_ok();
        assert_eq!(
            fuzz_props::assert_json_round_trip(&t).validate().is_ok(),
            valid
        );
    }
    if let Ok(scene) = serde_json::from_slice::<Scene>(data) {
        let valid = validate_scene_name(&scene.name).is_ok();
        let back = fuzz_props::assert_json_round_trip(&scene);
        assert_eq!(validate_scene_name(&back.name).is_ok(), valid);
    }
});
