//! Logging and tracing set-up shared by both binaries.
//!
//! Logs: `RUST_LOG` wins when set. Otherwise the seed's switches apply: `LOG_LEVEL`
//! (error|warn|info|debug|trace, default info), `DEBUG_COMPONENTS`, a comma list of
//! `workers,renderer,rtmp,websocket,api,db,dispatch` turned up to debug, and
//! `STREAM_PERF_METRICS=true` for the render node's per-frame timing lines; each binary
//! says which of its log targets these names mean in its [`LogTable`] (see [`filter`]).
//! `LOG_FORMAT=json` prints one JSON object per line for log shippers.
//!
//! Traces: with an OTLP endpoint set (see [`otlp`]), spans at info and above — whatever the
//! log level — are exported over OTLP/HTTP. [`shutdown`] exports what is still buffered;
//! both binaries call it on their way out. Trace context crosses processes as W3C
//! `traceparent` headers: see [`crate::trace_context`].

pub mod filter;
pub mod otlp;

use std::sync::OnceLock;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, fmt};

pub use filter::{LogTable, from_env as filter_from_env};
pub use otlp::OtlpSettings;

/// The exporting provider, kept so [`shutdown`] can flush it.
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Installs logging, and span export when the environment asks for it; `default_service`
/// names the service unless `OTEL_SERVICE_NAME` does, and `logs` maps the seed's log
/// switches onto the binary's targets. A second call (tests) is a no-op.
pub fn init(default_service: &str, logs: &LogTable) {
    init_with(OtlpSettings::from_env(default_service), logs);
}

/// Installs logging, and span export to `otlp` when given. A second call is a no-op.
pub fn init_with(otlp: Option<OtlpSettings>, logs: &LogTable) {
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v == "json");
    // Colours only on a terminal: log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let printed: Box<dyn Layer<Registry> + Send + Sync> = if json {
        fmt::layer()
            .json()
            .flatten_event(true)
            .with_target(true)
            .boxed()
    } else {
        fmt::layer().with_target(true).with_ansi(ansi).boxed()
    };
    let (provider, failure) = match otlp.as_ref().map(OtlpSettings::provider) {
        Some(Ok(p)) => (Some(p), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    let traces = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("stream-manager"))
            // Spans are exported whatever the log level, which only governs printed lines.
            .with_filter(EnvFilter::new("info"))
    });
    let installed = tracing_subscriber::registry()
        .with(printed.with_filter(filter::from_env(logs)))
        .with(traces)
        .try_init()
        .is_ok();
    if !installed {
        if let Some(p) = provider {
            let _ = p.shutdown();
        }
        return;
    }
    if let Some(e) = failure {
        tracing::error!(error = %e, "traces are not exported");
    }
    if let (Some(p), Some(s)) = (provider, otlp) {
        if let Some(protocol) = OtlpSettings::unsupported_protocol() {
            tracing::warn!(%protocol, "only http/protobuf is built in: exporting with it");
        }
        tracing::info!(url = %s.traces_url, service = %s.service_name, "exporting traces over OTLP");
        let _ = PROVIDER.set(p);
    }
}

/// Exports the spans still buffered and stops the exporter, waiting at most 5 s; a no-op
/// when nothing is exported. Call it from blocking code, outside the async runtime.
pub fn shutdown() {
    if let Some(p) = PROVIDER.get()
        && let Err(e) = p.shutdown()
    {
        tracing::warn!(error = %e, "some spans were not exported");
    }
}
