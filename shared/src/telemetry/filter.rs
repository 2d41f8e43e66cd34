//! Which log lines are printed: `RUST_LOG`, or the seed's switches mapped onto the log
//! targets of the binary that reads them (each binary hands in its own [`LogTable`]).

use tracing_subscriber::EnvFilter;

/// What the seed's switches turn up in one binary: each `DEBUG_COMPONENTS` name's log
/// targets, and the target of the per-frame timing lines `STREAM_PERF_METRICS` turns on.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogTable {
    /// `(component, targets)`: the seed's names are `workers`, `dispatch`, `renderer`,
    /// `rtmp`, `websocket`, `api` and `db`; a name a binary does not list turns up nothing.
    pub components: &'static [(&'static str, &'static [&'static str])],
    /// The per-frame timing lines' target, in a binary that has them.
    pub perf_target: Option<&'static str>,
}

impl LogTable {
    /// The targets `component` turns up to debug.
    fn targets(&self, component: &str) -> &'static [&'static str] {
        let component = component.trim();
        self.components
            .iter()
            .find(|(name, _)| *name == component)
            .map_or(&[], |(_, targets)| *targets)
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
pub fn seed_directives(table: &LogTable, get: impl Fn(&str) -> Option<String>) -> String {
    let level = get("LOG_LEVEL").unwrap_or_else(|| "info".into());
    let mut directives = vec![level];
    if let Some(list) = get("DEBUG_COMPONENTS") {
        for c in list.split(',') {
            directives.extend(table.targets(c).iter().map(|t| format!("{t}=debug")));
        }
    }
    if let Some(perf) = table.perf_target
        && get("STREAM_PERF_METRICS").is_some_and(|v| is_on(&v))
    {
        directives.push(format!("{perf}=debug"));
    }
    directives.join(",")
}

/// The log filter from the environment: `RUST_LOG` when set, else the seed's switches.
pub fn from_env(table: &LogTable) -> EnvFilter {
    if let Ok(f) = EnvFilter::try_from_env("RUST_LOG") {
        return f;
    }
    let directives = seed_directives(table, |name| {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    });
    EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: LogTable = LogTable {
        components: &[
            ("workers", &["app::dispatch", "app::fleet"]),
            ("websocket", &["app::events"]),
        ],
        perf_target: Some("app::perf"),
    };

    fn directives(vars: &[(&str, &str)]) -> String {
        seed_directives(&TABLE, |name| {
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
    fn components_map_onto_the_binarys_own_targets() {
        let d = directives(&[
            ("LOG_LEVEL", "warn"),
            ("DEBUG_COMPONENTS", "workers, websocket,unknown"),
        ]);
        assert_eq!(
            d,
            "warn,app::dispatch=debug,app::fleet=debug,app::events=debug"
        );
        EnvFilter::try_new(&d).expect("a valid filter");
    }

    #[test]
    fn stream_perf_metrics_turns_on_the_per_frame_timing_lines() {
        assert_eq!(
            directives(&[("STREAM_PERF_METRICS", "true")]),
            "info,app::perf=debug"
        );
        assert_eq!(directives(&[("STREAM_PERF_METRICS", "false")]), "info");
        let without = seed_directives(&LogTable::default(), |n| {
            (n == "STREAM_PERF_METRICS").then(|| "true".into())
        });
        assert_eq!(without, "info");
    }
}
