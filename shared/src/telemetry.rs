//! Logging set-up shared by both binaries.
//!
//! `RUST_LOG` wins when set. Otherwise the seed's switches apply: `LOG_LEVEL`
//! (error|warn|info|debug|trace, default info) and `DEBUG_COMPONENTS`, a comma list of
//! `workers,renderer,rtmp,websocket,api,db,dispatch` turned up to debug. `LOG_FORMAT=json`
//! prints one JSON object per line for log shippers.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt;

/// Log targets each `DEBUG_COMPONENTS` name turns up to debug.
fn component_targets(component: &str) -> &'static [&'static str] {
    match component.trim() {
        "workers" | "dispatch" => &["control_plane::dispatch", "render_node::worker"],
        "renderer" => &["render_node::pipeline", "render_node::compose"],
        "rtmp" => &["render_node::output", "render_node::ingest"],
        "websocket" => &["control_plane::routes::events"],
        "api" => &["control_plane::routes", "tower_http"],
        "db" => &["control_plane::db", "sqlx"],
        _ => &[],
    }
}

/// The filter directives from the environment, without installing anything.
pub fn filter_from_env() -> EnvFilter {
    if let Ok(f) = EnvFilter::try_from_env("RUST_LOG") {
        return f;
    }
    let level = std::env::var("LOG_LEVEL").unwrap_or_else(|_| "info".into());
    let mut directives = vec![level];
    if let Ok(list) = std::env::var("DEBUG_COMPONENTS") {
        for c in list.split(',') {
            directives.extend(component_targets(c).iter().map(|t| format!("{t}=debug")));
        }
    }
    EnvFilter::try_new(directives.join(",")).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Installs the global subscriber; a second call (tests) is a no-op.
pub fn init() {
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v == "json");
    // Colours only on a terminal: log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = fmt()
        .with_env_filter(filter_from_env())
        .with_target(true)
        .with_ansi(ansi);
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}
