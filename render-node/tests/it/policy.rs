//! The media policy as the node applies it just before it opens something: `file://` paths
//! resolved through symlinks.

use std::time::{Duration, Instant};

use render_node::{Applied, Engine, EngineConfig, NodeEvent, StreamOptions};
use serde_json::json;
use shared::media_url::MediaPolicy;
use uuid::Uuid;

use crate::helpers::*;

/// An engine that applies `policy` to every layer's media.
fn engine_with(policy: MediaPolicy) -> Engine {
    Engine::new(EngineConfig {
        policy: Some(policy),
        ..EngineConfig::default()
    })
    .unwrap()
}

/// The `LayerError` message for `layer_id` seen within a few seconds, if any.
fn layer_error(
    events: &mut tokio::sync::broadcast::Receiver<NodeEvent>,
    layer_id: Uuid,
) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match events.try_recv() {
            Ok(NodeEvent::LayerError {
                layer_id: l,
                message,
            }) if l == layer_id => {
                return Some(message);
            }
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    None
}

#[test]
fn a_symlink_inside_the_media_root_pointing_out_of_it_is_refused() {
    let outside = temp_path("secret.png");
    image::RgbaImage::from_pixel(16, 16, image::Rgba([0, 255, 0, 255]))
        .save(&outside)
        .unwrap();
    let root = temp_path("media");
    std::fs::create_dir_all(&root).unwrap();
    let inside = root.join("ok.png");
    std::fs::copy(&outside, &inside).unwrap();
    let link = root.join("link.png");
    std::os::unix::fs::symlink(&outside, &link).unwrap();

    let s = Uuid::new_v4();
    let good = layer(
        s,
        "image",
        json!({ "url": format!("file://{}", inside.display()) }),
        (0, 0, 16, 16),
        0,
    );
    let bad = layer(
        s,
        "image",
        json!({ "url": format!("file://{}", link.display()) }),
        (100, 100, 16, 16),
        1,
    );
    let first = spec(vec![good.clone()]);
    let h = engine_with(MediaPolicy {
        media_root: Some(root.clone()),
        allow_private: false,
    })
    .start(
        &first,
        StreamOptions {
            live: true,
            tap: true,
            extra_outputs: vec![render_node::output::OutputTarget::Null],
            ..StreamOptions::default()
        },
    )
    .unwrap();
    let mut events = h.events();
    let mut second = first.clone();
    second.version += 1;
    second.layers.push(bad.clone());
    let Applied::AtFrame(at) = h.apply(&second).unwrap() else {
        panic!("the change is not applied")
    };
    let mut f = next_tap(&h);
    while f.index < at {
        f = next_tap(&h);
    }
    let message = layer_error(&mut events, bad.id).expect("the symlink is refused");
    assert!(
        !message.contains(&outside.display().to_string()),
        "{message}"
    );
    assert!(
        close(f.at(8, 8), [0, 255, 0], 8),
        "the real file inside renders"
    );
    assert!(
        close(f.at(108, 108), [0, 0, 0], 8),
        "the symlinked file does not"
    );
    h.stop().unwrap();
}
