//! AMQP commands as a render node reads them (the node parses every message body with
//! `CommandEnvelope`): whatever parses round-trips through JSON unchanged, names the same
//! stream and version, and carries only valid layers and a config that validates again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::messages::{CommandEnvelope, NodeCommand};
use shared::spec::StreamSpec;

fn check_spec(spec: &StreamSpec) {
    for layer in &spec.layers {
        layer
            .validate()
            .unwrap_or_else(|e| panic!("a command carried an invalid layer ({e})"));
    }
    let active = spec.active_layers();
    assert!(active.iter().all(|l| l.scene_id == spec.active_scene_id));
    assert!(
        active.windows(2).all(|w| w[0].z_index <= w[1].z_index),
        "not bottom first"
    );
}

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = serde_json::from_slice::<CommandEnvelope>(data) {
        let back = fuzz_props::assert_json_round_trip(&env);
        assert_eq!(back.command.stream_id(), env.command.stream_id());
        assert_eq!(back.command.version(), env.command.version());
        if let NodeCommand::Start { spec } | NodeCommand::Update { spec } = &env.command {
            check_spec(spec);
            let valid = spec.config.validate().is_ok();
            assert_eq!(back_config_valid(&back), valid);
        }
    }
    if let Ok(spec) = serde_json::from_slice::<StreamSpec>(data) {
        check_spec(&spec);
        fuzz_props::assert_json_round_trip(&spec);
    }
});

fn back_config_valid(env: &CommandEnvelope) -> bool {
    match &env.command {
        NodeCommand::Start { spec } | NodeCommand::Update { spec } => {
            spec.config.validate().is_ok()
        }
        NodeCommand::Stop { .. } => true,
    }
}
