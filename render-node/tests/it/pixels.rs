//! What the output shows: colours, blending, z-order, visibility, images, text.

use serde_json::json;
use uuid::Uuid;

use crate::helpers::*;

const RED: [u8; 3] = [255, 0, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const BLACK: [u8; 3] = [0, 0, 0];

#[test]
fn color_layer_inside_and_outside() {
    let s = Uuid::new_v4();
    let f = &decode(&render_flv(
        &spec(vec![color(s, "#FF0000", (100, 60, 80, 60), 0)]),
        6,
    ))[3];
    assert_color(f, 140, 90, RED);
    assert_color(f, 104, 64, RED);
    assert_color(f, 40, 40, BLACK);
    assert_color(f, 200, 150, BLACK);
}

#[test]
fn half_opacity_blends_with_what_is_under() {
    let s = Uuid::new_v4();
    let mut top = color(s, "#0000FF", (0, 0, 160, 240), 1);
    top.opacity = 0.5;
    let spec = spec(vec![color(s, "#FF0000", (0, 0, 320, 240), 0), top]);
    let f = &decode(&render_flv(&spec, 6))[3];
    assert_color(f, 80, 120, [128, 0, 128]);
    assert_color(f, 240, 120, RED);
}

#[test]
fn higher_z_index_is_on_top_and_hidden_layers_are_gone() {
    let s = Uuid::new_v4();
    // Listed top-first on purpose: order in the list must not matter, zIndex does.
    let blue = color(s, "#0000FF", (100, 100, 100, 100), 5);
    let red = color(s, "#FF0000", (50, 50, 100, 100), 1);
    let mut hidden = color(s, "#00FF00", (0, 0, 320, 240), 9);
    hidden.visible = false;
    let f = &decode(&render_flv(&spec(vec![hidden, blue, red]), 6))[3];
    assert_color(f, 120, 120, BLUE);
    assert_color(f, 60, 60, RED);
    assert_color(f, 250, 200, BLACK);
}

#[test]
fn image_layer_pixels_match_the_image() {
    let img = image::RgbaImage::from_fn(64, 64, |x, y| match (x < 32, y < 32) {
        (true, true) => image::Rgba([255, 0, 0, 255]),
        (false, true) => image::Rgba([0, 255, 0, 255]),
        (true, false) => image::Rgba([0, 0, 255, 255]),
        // Half-transparent white: over black it reads as mid grey.
        (false, false) => image::Rgba([255, 255, 255, 128]),
    });
    let path = temp_path("quad.png");
    img.save(&path).unwrap();
    let s = Uuid::new_v4();
    let url = format!("file://{}", path.display());
    let l = layer(s, "image", json!({ "url": url }), (100, 80, 64, 64), 0);
    let f = &decode(&render_flv(&spec(vec![l]), 6))[3];
    assert_color(f, 116, 96, [255, 0, 0]);
    assert_color(f, 148, 96, [0, 255, 0]);
    assert_color(f, 116, 128, [0, 0, 255]);
    assert_color(f, 148, 128, [128, 128, 128]);
    assert_color(f, 60, 60, BLACK);
}

#[test]
fn text_layer_draws_inside_its_box_only() {
    let s = Uuid::new_v4();
    let l = layer(
        s,
        "text",
        json!({"text": "HELLO", "fontSize": 40, "color": "#FFFFFF"}),
        (20, 100, 200, 60),
        0,
    );
    let f = &decode(&render_flv(&spec(vec![l]), 6))[3];
    let bright = |x0: u32, y0: u32, x1: u32, y1: u32| {
        let mut n = 0;
        for y in y0..y1 {
            for x in x0..x1 {
                if f.at(x, y)[0] > 128 {
                    n += 1;
                }
            }
        }
        n
    };
    let inside = bright(20, 100, 220, 160);
    assert!(inside > 300, "only {inside} text pixels in the box");
    // Anti-aliased: there are in-between values on glyph edges.
    let mut grey = 0;
    for y in 100..160 {
        for x in 20..220 {
            let v = f.at(x, y)[0];
            if (40..200).contains(&v) {
                grey += 1;
            }
        }
    }
    assert!(grey > 20, "no anti-aliasing seen ({grey})");
    assert_eq!(bright(0, 0, 320, 90), 0);
    assert_eq!(bright(240, 0, 320, 240), 0);
}

#[test]
fn text_is_shown_as_written_never_read_as_markup() {
    let s = Uuid::new_v4();
    // Invalid markup (a bare `&`) used to render nothing; a `<span>` used to set its own size.
    let amp = layer(
        s,
        "text",
        json!({"text": "Q&A", "fontSize": 40, "color": "#FFFFFF"}),
        (20, 20, 200, 60),
        0,
    );
    let span = layer(
        s,
        "text",
        json!({"text": "<span font=\"150px\">W</span>", "fontSize": 10, "color": "#FFFFFF"}),
        (20, 120, 300, 100),
        1,
    );
    let f = &decode(&render_flv(&spec(vec![amp, span]), 6))[3];
    let bright = |x0: u32, y0: u32, x1: u32, y1: u32| {
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|&(x, y)| f.at(x, y)[0] > 128)
            .count()
    };
    assert!(bright(20, 20, 220, 80) > 200, "Q&A did not render");
    // 10 px text: the markup shows as small characters in the box's first rows.
    let tall = bright(20, 140, 320, 220);
    assert_eq!(tall, 0, "a 150 px glyph from the markup");
    assert!(
        bright(20, 120, 320, 140) > 20,
        "the markup text itself is not shown"
    );
}

#[test]
fn broken_image_is_skipped_and_reported_while_the_rest_renders() {
    let path = temp_path("broken.png");
    std::fs::write(&path, b"definitely not a png").unwrap();
    let s = Uuid::new_v4();
    let bad = layer(
        s,
        "image",
        json!({ "url": format!("file://{}", path.display()) }),
        (0, 0, 64, 64),
        1,
    );
    let spec = spec(vec![color(s, "#FF0000", (0, 0, 320, 240), 0), bad]);
    let f = &decode(&render_flv(&spec, 6))[3];
    assert_color(f, 10, 10, RED);
}
