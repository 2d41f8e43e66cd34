//! Migrations as a deploy step: `control-plane migrate` applies them and exits, `serve` with
//! `MIGRATE_ON_START=false` only checks, and no control plane starts on a schema newer than
//! the migrations it was built with.

use std::process::Command;

use control_plane::startup::Application;
use sqlx::Connection;
use stream_manager_tests::nodes::workspace_bin;
use stream_manager_tests::services::services;
use stream_manager_tests::spawn_app;
use stream_manager_tests::test_app::{config, create_database};

/// The version of the migration a future release adds, unknown to this binary.
const FUTURE: i64 = 99_991_231_000_000;

/// Runs `control-plane migrate` on `database_url`: its exit success and its output.
fn migrate(database_url: &str) -> (bool, String) {
    let out = Command::new(workspace_bin("control-plane"))
        .arg("migrate")
        .env_clear()
        .env("DATABASE_URL", database_url)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

async fn applied_versions(database_url: &str) -> Vec<i64> {
    let mut db = sqlx::PgConnection::connect(database_url).await.unwrap();
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_schema_newer_than_the_binary_stops_the_control_plane_with_a_clear_message() {
    let app = spawn_app().await;
    // What a newer release's `control-plane migrate` leaves behind.
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES ($1, 'streams gain a region', true, '\\x00', 0)",
    )
    .bind(FUTURE)
    .execute(&mut app.db().await)
    .await
    .unwrap();

    for migrate_on_start in [true, false] {
        let mut config = config(&app.services, &app.database_url, &app.namespace);
        config.migrate_on_start = migrate_on_start;
        let refused = match Application::build(config).await {
            Ok(_) => panic!("a control plane started on a newer schema"),
            Err(e) => format!("{e:#}"),
        };
        for said in [
            "newer than this control plane",
            &FUTURE.to_string(),
            "streams gain a region",
        ] {
            assert!(refused.contains(said), "{said:?} not in: {refused}");
        }
    }
    // The deploy step refuses too, and touches nothing.
    let (ok, output) = migrate(&app.database_url);
    assert!(!ok, "migrate succeeded on a newer schema: {output}");
    assert!(output.contains("newer than this control plane"), "{output}");
}

#[tokio::test]
async fn migrate_applies_the_schema_and_serve_can_be_left_to_check_it() {
    let s = services().await;
    let database_url = create_database(&s.database_url).await;
    let mut config = config(&s, &database_url, "it-migrate.");
    config.migrate_on_start = false;

    let refused = match Application::build(config.clone()).await {
        Ok(_) => panic!("a control plane started on an empty database without migrating"),
        Err(e) => format!("{e:#}"),
    };
    assert!(refused.contains("control-plane migrate"), "{refused}");

    let (ok, output) = migrate(&database_url);
    assert!(ok, "{output}");
    let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations"))
        .unwrap()
        .count();
    assert_eq!(applied_versions(&database_url).await.len(), on_disk);
    // Running it again is a no-op.
    let (ok, output) = migrate(&database_url);
    assert!(ok, "{output}");
    assert_eq!(applied_versions(&database_url).await.len(), on_disk);

    let app = Application::build(config).await;
    assert!(app.is_ok(), "{:#}", app.err().unwrap());
}
