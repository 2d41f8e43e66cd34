//! Text layers' typography, decoded from what the node encoded: alignment, decorations,
//! shrink-to-fit, and live clock text re-rendered only when its digits change.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;

/// Columns and rows (inclusive) of bright pixels inside a rectangle: the text's ink.
fn ink(f: &Frame, (x0, y0, x1, y1): (u32, u32, u32, u32)) -> Option<(u32, u32, u32, u32)> {
    let mut b: Option<(u32, u32, u32, u32)> = None;
    for y in y0..y1 {
        for x in x0..x1 {
            if f.at(x, y)[1] > 128 {
                b = Some(match b {
                    None => (x, y, x, y),
                    Some((a, c, d, e)) => (a.min(x), c.min(y), d.max(x), e.max(y)),
                });
            }
        }
    }
    b
}

fn text(source: Value, rect: (i32, i32, i32, i32)) -> Vec<Frame> {
    let s = Uuid::new_v4();
    decode(&render_flv(
        &spec(vec![layer(s, "text", source, rect, 0)]),
        6,
    ))
}

#[test]
fn align_center_centres_the_ink_in_the_box() {
    let f = &text(
        json!({"text": "HHH", "fontSize": 40, "color": "#FFFFFF", "align": "center"}),
        (20, 100, 280, 60),
    )[3];
    let (x0, _, x1, _) = ink(f, (0, 90, 320, 170)).expect("text drawn");
    let centre = f64::from(x0 + x1) / 2.0;
    // The box is x 20..300: its centre is 160 (the last ink column is inclusive).
    assert!(
        (centre - 159.5).abs() <= 2.0,
        "ink {x0}..={x1}, centre {centre}"
    );
    let f = &text(
        json!({"text": "HHH", "fontSize": 40, "color": "#FFFFFF", "align": "right",
               "verticalAlign": "bottom"}),
        (20, 60, 280, 120),
    )[3];
    let (_, y0, x1, y1) = ink(f, (0, 50, 320, 190)).expect("text drawn");
    assert!((290..300).contains(&x1), "right edge of ink at {x1}");
    assert!(y0 > 100 && y1 < 180, "ink rows {y0}..={y1}");
}

#[test]
fn background_box_outline_and_auto_fit() {
    let f = &text(
        json!({"text": "HI", "fontSize": 40, "color": "#FFFFFF", "align": "center",
               "verticalAlign": "middle",
               "outline": {"width": 3, "color": "#0000FF"},
               "background": {"color": "#FF0000", "padding": 12, "radius": 6}}),
        (20, 60, 280, 120),
    )[3];
    let count = |want: [u8; 3]| {
        (60..180)
            .flat_map(|y| (20..300).map(move |x| (x, y)))
            .filter(|&(x, y)| close(f.at(x, y), want, 40))
            .count()
    };
    assert!(count([255, 0, 0]) > 500, "no background box");
    assert!(count([0, 0, 255]) > 50, "no outline");
    // The box hugs the ink: the box's corners stay clear.
    assert!(close(f.at(22, 62), [0, 0, 0], 12));

    // 100 px text that would need ~900 px: shrunk until the whole line fits the box.
    let long = "ABCDEFGHIJKLMNOP";
    let fit = &text(
        json!({"text": long, "fontSize": 100, "color": "#FFFFFF", "wrap": false,
               "autoFit": true}),
        (10, 80, 300, 80),
    )[3];
    let (x0, _, x1, _) = ink(fit, (0, 70, 320, 170)).expect("text drawn");
    assert!(x1 - x0 > 200, "the shrunk line spans {x0}..={x1}");
    assert!(x1 < 310, "the last letter is inside the box ({x1})");
}

#[test]
fn a_clock_changes_once_a_second_and_is_not_composed_in_between() {
    let s = Uuid::new_v4();
    let l = layer(
        s,
        "text",
        json!({"text": "{{clock:HH:mm:ss}}", "fontSize": 40, "color": "#FFFFFF"}),
        (10, 100, 300, 60),
        0,
    );
    let out = temp_path("clock.flv");
    // 3.5 s in real time.
    let frames = 105;
    let h = start_with_file(&spec(vec![l]), true, frames, &out);
    h.wait().unwrap();
    let composed = h.frame_stats().composed.load(Ordering::Relaxed);
    let decoded = decode(&out);
    let mask = |f: &Frame| -> Vec<bool> {
        (100..160)
            .flat_map(|y| (10..310).map(move |x| (x, y)))
            .map(|(x, y)| f.at(x, y)[1] > 128)
            .collect()
    };
    let masks: Vec<Vec<bool>> = decoded.iter().map(mask).collect();
    let changes: Vec<usize> = (1..masks.len())
        .filter(|&i| {
            masks[i]
                .iter()
                .zip(&masks[i - 1])
                .filter(|(a, b)| a != b)
                .count()
                > 30
        })
        .collect();
    assert!(
        (2..=5).contains(&changes.len()),
        "text changed at frames {changes:?} of {}",
        decoded.len()
    );
    for pair in changes.windows(2) {
        assert!(
            pair[1] - pair[0] >= 25,
            "changes closer than a second: {changes:?}"
        );
    }
    eprintln!("clock text: {composed} of {frames} frames composed, text changed at {changes:?}");
    // One composition for the first frame and one per new second (plus at most one more
    // for the start's own change), not one per output frame.
    assert!(
        composed <= changes.len() as u64 + 3,
        "{composed} frames composed for {} changes",
        changes.len()
    );
}
