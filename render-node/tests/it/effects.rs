//! Layer effects, decoded from what the node encoded: chroma key, rotation, crop, corner
//! radius and border on static layers (baked into their sprite), and on a moving layer
//! (run on every frame).

use serde_json::{Value, json};
use shared::layer::Layer;
use uuid::Uuid;

use crate::helpers::*;

const RED: [u8; 3] = [255, 0, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const BLACK: [u8; 3] = [0, 0, 0];
const WHITE: [u8; 3] = [255, 255, 255];

fn with_effects(mut l: Layer, effects: Value) -> Layer {
    l.effects = serde_json::from_value(effects).unwrap();
    l
}

fn third_frame(layers: Vec<Layer>) -> Frame {
    decode(&render_flv(&spec(layers), 6)).swap_remove(3)
}

#[test]
fn chroma_key_removes_a_green_background_and_shows_the_layer_below() {
    // A green picture with a blue square in its middle, over a red layer.
    let img = image::RgbaImage::from_fn(64, 64, |x, y| {
        if (16..48).contains(&x) && (16..48).contains(&y) {
            image::Rgba([0, 0, 255, 255])
        } else {
            image::Rgba([0, 255, 0, 255])
        }
    });
    let path = temp_path("greenscreen.png");
    img.save(&path).unwrap();
    let s = Uuid::new_v4();
    let url = format!("file://{}", path.display());
    let below = color(s, "#FF0000", (0, 0, 320, 240), 0);
    let keyed = with_effects(
        layer(s, "image", json!({ "url": url }), (100, 60, 128, 128), 1),
        json!([{"type": "chromaKey", "color": "#00FF00"}]),
    );
    let f = third_frame(vec![below, keyed]);
    assert_color(&f, 110, 70, RED);
    assert_color(&f, 220, 180, RED);
    assert_color(&f, 164, 124, BLUE);
}

#[test]
fn chroma_key_runs_on_every_frame_of_a_moving_layer() {
    let s = Uuid::new_v4();
    let below = color(s, "#FF0000", (0, 0, 320, 240), 0);
    // A solid green test pattern (ARGB 0xFF00FF00) as a video layer, keyed on the left
    // half and shown as it is on the right half.
    let green = |x: i32, z: i32| {
        layer(
            s,
            "video",
            json!({"uri": "testsrc://solid-color?foreground-color=4278255360"}),
            (x, 0, 160, 240),
            z,
        )
    };
    let keyed = with_effects(green(0, 1), json!([{"type": "chromaKey"}]));
    let f = third_frame(vec![below, keyed, green(160, 2)]);
    assert_color(&f, 40, 120, RED);
    assert_color(&f, 150, 20, RED);
    // The pattern's green comes out a little darker (its own range conversion).
    let shown = f.at(240, 120);
    assert!(
        shown[1] > 180 && shown[0] < 40,
        "unkeyed video is {shown:?}"
    );
}

#[test]
fn rotate_90_swaps_the_box() {
    let s = Uuid::new_v4();
    // 120×40 at (100,100): centre (160,120). Turned, it covers x 140..180, y 60..180.
    let bar = with_effects(
        color(s, "#0000FF", (100, 100, 120, 40), 0),
        json!([{"type": "rotate", "degrees": 90}]),
    );
    let f = third_frame(vec![bar]);
    assert_color(&f, 160, 66, BLUE);
    assert_color(&f, 160, 174, BLUE);
    assert_color(&f, 145, 120, BLUE);
    // Inside the unturned box but outside the turned one.
    assert_color(&f, 110, 120, BLACK);
    assert_color(&f, 210, 120, BLACK);
    assert_color(&f, 160, 54, BLACK);
}

#[test]
fn crop_shows_only_the_kept_part() {
    let img = image::RgbaImage::from_fn(64, 64, |x, y| match (x < 32, y < 32) {
        (true, true) => image::Rgba([255, 0, 0, 255]),
        (false, true) => image::Rgba([0, 255, 0, 255]),
        (true, false) => image::Rgba([0, 0, 255, 255]),
        (false, false) => image::Rgba([255, 255, 255, 255]),
    });
    let path = temp_path("quad.png");
    img.save(&path).unwrap();
    let s = Uuid::new_v4();
    let url = format!("file://{}", path.display());
    // Keep the top-left quadrant (source pixels), scaled into the whole 64×64 box.
    let l = with_effects(
        layer(s, "image", json!({ "url": url }), (100, 80, 64, 64), 0),
        json!([{"type": "crop", "right": 32, "bottom": 32}]),
    );
    let f = third_frame(vec![l]);
    for (x, y) in [(104, 84), (158, 84), (104, 138), (158, 138), (132, 112)] {
        assert_color(&f, x, y, RED);
    }
    assert_color(&f, 60, 60, BLACK);
}

#[test]
fn corner_radius_leaves_the_corner_transparent_and_border_follows_it() {
    let s = Uuid::new_v4();
    let below = color(s, "#FF0000", (0, 0, 320, 240), 0);
    let card = with_effects(
        color(s, "#0000FF", (100, 60, 120, 120), 1),
        json!([{"type": "cornerRadius", "radius": 40}]),
    );
    let f = third_frame(vec![below, card]);
    // The corner pixel shows the layer below; the middle of the edges and the centre do not.
    assert_color(&f, 102, 62, RED);
    assert_color(&f, 217, 177, RED);
    assert_color(&f, 160, 62, BLUE);
    assert_color(&f, 160, 120, BLUE);

    let bordered = with_effects(
        color(s, "#0000FF", (100, 60, 120, 120), 1),
        json!([{"type": "cornerRadius", "radius": 20},
               {"type": "border", "width": 8, "color": "#FFFFFF"}]),
    );
    let f = third_frame(vec![color(s, "#FF0000", (0, 0, 320, 240), 0), bordered]);
    assert_color(&f, 160, 63, WHITE);
    assert_color(&f, 103, 120, WHITE);
    assert_color(&f, 160, 120, BLUE);
    assert_color(&f, 101, 61, RED);
}

#[test]
fn flip_and_color_adjust_on_a_static_layer() {
    let img = image::RgbaImage::from_fn(64, 32, |x, _| {
        if x < 32 {
            image::Rgba([255, 0, 0, 255])
        } else {
            image::Rgba([0, 0, 255, 255])
        }
    });
    let path = temp_path("halves.png");
    img.save(&path).unwrap();
    let s = Uuid::new_v4();
    let url = format!("file://{}", path.display());
    let flipped = with_effects(
        layer(s, "image", json!({ "url": url }), (0, 0, 64, 32), 0),
        json!([{"type": "flip", "horizontal": true}]),
    );
    let grey = with_effects(
        layer(s, "image", json!({ "url": url }), (0, 100, 64, 32), 0),
        json!([{"type": "colorAdjust", "saturation": 0}]),
    );
    let f = third_frame(vec![flipped, grey]);
    assert_color(&f, 8, 16, BLUE);
    assert_color(&f, 56, 16, RED);
    let p = f.at(8, 116);
    assert!(close([p[0], p[0], p[0]], p, 10), "not grey: {p:?}");
}

#[test]
fn a_moving_layer_is_turned_and_rounded_on_every_frame() {
    let s = Uuid::new_v4();
    let below = color(s, "#FF0000", (0, 0, 320, 240), 0);
    // Solid blue (ARGB 0xFF0000FF) video, 120×40 at (100,100): turned, it covers x 140..180,
    // y 60..180; its rounded corners show the red below.
    let bar = with_effects(
        layer(
            s,
            "video",
            json!({"uri": "testsrc://solid-color?foreground-color=4278190335"}),
            (100, 100, 120, 40),
            1,
        ),
        json!([{"type": "rotate", "degrees": 90}, {"type": "cornerRadius", "radius": 12}]),
    );
    let f = third_frame(vec![below, bar]);
    let blue = |x, y| {
        let p = f.at(x, y);
        p[2] > 180 && p[0] < 60
    };
    assert!(blue(160, 66), "{:?}", f.at(160, 66));
    assert!(blue(160, 174), "{:?}", f.at(160, 174));
    assert_color(&f, 110, 120, RED);
    assert_color(&f, 141, 61, RED);
    assert_color(&f, 160, 54, RED);
}

#[test]
fn a_moving_layer_is_cropped_in_its_decoder() {
    let s = Uuid::new_v4();
    // SMPTE bars: seven bars, grey first and blue last along the top two thirds.
    let bars = |x: i32, effects: Value| {
        with_effects(
            layer(
                s,
                "video",
                json!({"uri": "testsrc://smpte"}),
                (x, 20, 140, 100),
                0,
            ),
            effects,
        )
    };
    let plain = bars(0, json!([]));
    // Cut off all but the first bar's width from the right: only grey is left, scaled in.
    let cropped = bars(160, json!([{"type": "crop", "right": 1000}]));
    let f = third_frame(vec![plain, cropped]);
    let blueish = |p: [u8; 3]| p[2] > 150 && p[0] < 80 && p[1] < 80;
    assert!(
        blueish(f.at(134, 40)),
        "uncropped right bar: {:?}",
        f.at(134, 40)
    );
    let left = f.at(164, 40);
    assert!(
        left.iter().all(|&c| c > 120) && close(left, [left[0]; 3], 24),
        "the cropped layer shows {left:?}, not the grey bar"
    );
    for x in [200, 250, 294] {
        assert!(
            close(f.at(x, 40), left, 24),
            "{:?} at {x} vs {left:?}",
            f.at(x, 40)
        );
    }
}
