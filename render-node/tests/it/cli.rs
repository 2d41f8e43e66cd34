//! The standalone `render-node render` command, run as a user would.

use std::process::Command;

use crate::helpers::*;

fn render_node() -> Command {
    Command::new(env!("CARGO_BIN_EXE_render-node"))
}

#[test]
fn renders_the_example_scene_to_a_file() {
    let out = temp_path("example.flv");
    let scene = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scene.json");
    let run = render_node()
        .args([
            "render",
            "--scene",
            scene,
            "--frames",
            "30",
            "--fast",
            "--resolution",
            "320x240",
            "--out",
        ])
        .arg(&out)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("frames=30"), "{stdout}");
    assert_eq!(decode(&out).len(), 30);
}

#[test]
fn bad_scene_files_give_clear_errors_and_no_panic() {
    let cases = [
        ("{ not json", "not valid JSON"),
        (r#"{"layers": 3}"#, "\"layers\" must be an array"),
        (
            r##"{"layers": [{"kind": "color", "source": {"color": "red"}, "size": {"width": 1, "height": 1}}]}"##,
            "color like #RRGGBB",
        ),
        (
            r#"{"config": {"STREAM_RESOLUTION": "99x99"}, "layers": []}"#,
            "between 160x90 and 3840x2160",
        ),
    ];
    for (text, want) in cases {
        let path = temp_path("scene.json");
        std::fs::write(&path, text).unwrap();
        let run = render_node()
            .args(["render", "--out", "null", "--scene"])
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{text}: {stderr}");
        assert!(stderr.contains(want), "{text}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let run = render_node()
        .args([
            "render",
            "--scene",
            "/nonexistent/scene.json",
            "--out",
            "null",
        ])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("cannot read scene file"));
    // No command joins the fleet, which needs NODE_SECRET: the reason and the usage.
    let run = render_node().env_remove("NODE_SECRET").output().unwrap();
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr).to_lowercase();
    assert!(
        stderr.contains("node_secret") && stderr.contains("usage"),
        "{stderr}"
    );
    // A bad flag is a failure too, and names the flag.
    let run = render_node()
        .args(["render", "--scene", "s.json", "--out", "null", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("--bogus"));
}

#[test]
fn unreachable_rtmp_destination_exits_non_zero_with_a_clear_error() {
    let scene = temp_path("scene.json");
    std::fs::write(
        &scene,
        r##"{"config": {"STREAM_RESOLUTION": "320x240"}, "layers": [{"kind": "color", "source": {"color": "#FF0000"}, "size": {"width": 10, "height": 10}}]}"##,
    )
    .unwrap();
    let run = render_node()
        .args(["render", "--seconds", "20", "--scene"])
        .arg(&scene)
        .arg("--out")
        .arg(format!("rtmp://127.0.0.1:{}/live/x", free_port()))
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("every destination failed"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
