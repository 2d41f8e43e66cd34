//! Which log lines are printed: `RUST_LOG`, or the seed's switches mapped onto tracing targets.

use tracing_subscriber::EnvFilter;

/// Target of the render node's per-frame timing lines, turned on by `STREAM_PERF_METRICS`.
pub const PERF_TARGET: &str = "render_node::perf";

/// Log targets each `DEBUG_COMPONENTS` name turns up to debug.
fn component_targets(component: &str) -> &'static [&'static str] {
    match component.trim() {
        "workers" | "dispatch" => &["control_plane::dispatch", "render_node::fleet"],
        "renderer" => &[
            "render_node::engine",
            "render_node::pipeline",
            "render_node::compose",
            "render_node::render_loop",
            "render_node::supervisor",
            "render_node::sources",
        ],
        "rtmp" => &["render_node::output", "render_node::ingest"],
        "websocket" => &["control_plane::routes::events", "control_plane::fanout"],
        "api" => &["control_plane::routes", "tower_http"],
        "db" => &["control_plane::db", "sqlx"],
        _ => &[],
    }
}

/// Whether a boolean switch such as `STREAM_PERF_METRICS` is on.
fn is_on(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

/// The filter directives the seed's switches ask for, read through `get` (the environment,
/// or a table in tests).
pub fn seed_directives(get: impl Fn(&str) -> Option<String>) -> String {
    let level = get("LOG_LEVEL").unwrap_or_else(|| "info".into());
    let mut directives = vec![level];
    if let Some(list) = get("DEBUG_COMPONENTS") {
        for c in list.split(',') {
            directives.extend(component_targets(c).iter().map(|t| format!("{t}=debug")));
        }
    }
    if get("STREAM_PERF_METRICS").is_some_and(|v| is_on(&v)) {
        directives.push(format!("{PERF_TARGET}=debug"));
    }
    directives.join(",")
}

/// The log filter from the environment: `RUST_LOG` when set, else the seed's switches.
pub fn from_env() -> EnvFilter {
    if let Ok(f) = EnvFilter::try_from_env("RUST_LOG") {
        return f;
    }
    let directives = seed_directives(|name| std::env::var(name).ok().filter(|v| !v.is_empty()));
    EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directives(vars: &[(&str, &str)]) -> String {
        seed_directives(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults_to_info() {
        assert_eq!(directives(&[]), "info");
    }

    #[test]
    fn every_seed_component_maps_onto_real_targets() {
        for c in ["workers", "renderer", "rtmp", "websocket"] {
            assert!(!component_targets(c).is_empty(), "{c} maps to nothing");
        }
        let d = directives(&[
            ("LOG_LEVEL", "warn"),
            ("DEBUG_COMPONENTS", "workers, websocket,unknown"),
        ]);
        assert_eq!(
            d,
            "warn,control_plane::dispatch=debug,render_node::fleet=debug,\
             control_plane::routes::events=debug,control_plane::fanout=debug"
        );
        EnvFilter::try_new(&d).expect("a valid filter");
    }

    #[test]
    fn stream_perf_metrics_turns_on_the_per_frame_timing_lines() {
        assert_eq!(
            directives(&[("STREAM_PERF_METRICS", "true")]),
            format!("info,{PERF_TARGET}=debug")
        );
        assert_eq!(directives(&[("STREAM_PERF_METRICS", "false")]), "info");
    }
}
