//! The `control-plane` binary run as an operator runs it. (Building this test also builds
//! the binary, which the integration suite starts as a real process for restart tests.)

#![allow(clippy::unwrap_used)] // a failing test should panic with the error

use std::process::Command;

use control_plane::auth::JwtKeys;

const SECRET: &str = "cli-test-secret-0123456789";

fn control_plane() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_control-plane"));
    c.env_clear().env("JWT_SECRET", SECRET);
    c
}

#[test]
fn token_prints_a_tenant_token_the_api_accepts() {
    let out = control_plane()
        .args(["token", "--tenant", "acme", "--ttl", "10m"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let token = String::from_utf8(out.stdout).unwrap();
    let keys = JwtKeys::new(SECRET.as_bytes(), "stream-manager");
    assert_eq!(keys.verify(token.trim()).unwrap(), "acme");
    let operator = control_plane()
        .args(["token", "--operator", "ops"])
        .output()
        .unwrap();
    let principal = keys
        .verify_principal(String::from_utf8(operator.stdout).unwrap().trim())
        .unwrap();
    assert!(principal.operator);
}

#[test]
fn bad_invocations_exit_non_zero_with_a_reason() {
    let cases: [(&[&str], bool, &str); 6] = [
        (&["token"], true, "--tenant"),
        (
            &["token", "--tenant", "a", "--operator", "b"],
            true,
            "cannot be used with",
        ),
        (&["token", "--tenant", "a b"], true, "may hold only"),
        (
            &["token", "--tenant", "a", "--ttl", "1y"],
            true,
            "invalid ttl unit",
        ),
        (&["frobnicate"], true, "unrecognized subcommand"),
        (&["serve"], false, "JWT_SECRET"),
    ];
    for (args, with_secret, reason) in cases {
        let mut cmd = control_plane();
        if !with_secret {
            cmd.env_remove("JWT_SECRET");
        }
        let out = cmd.args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
}
