//! Span export over OTLP/HTTP (protobuf), configured by the standard `OTEL_*` variables.
//!
//! Export is on only when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces-only
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set and `OTEL_SDK_DISABLED` is not `true`. The
//! SDK itself reads `OTEL_EXPORTER_OTLP_HEADERS`, `…_TIMEOUT`, `…_COMPRESSION` (gzip),
//! `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER[_ARG]` and `OTEL_BSP_*`.

use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;

/// The only OTLP protocol built in: gRPC would pull a whole tonic transport stack in.
const PROTOCOL: &str = "http/protobuf";

/// Where spans go and which service they come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpSettings {
    /// The full URL spans are POSTed to (`…/v1/traces`).
    pub traces_url: String,
    /// `service.name` of every span.
    pub service_name: String,
}

/// Why the exporter could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up OTLP export to {url}: {source}")]
pub struct OtlpError {
    url: String,
    #[source]
    source: opentelemetry_otlp::ExporterBuildError,
}

impl OtlpSettings {
    /// From the process environment; `None` when export is off.
    pub fn from_env(default_service: &str) -> Option<Self> {
        Self::from_lookup(default_service, |name| {
            std::env::var(name).ok().filter(|v| !v.trim().is_empty())
        })
    }

    /// From variables read through `get`; `None` when export is off.
    pub fn from_lookup(
        default_service: &str,
        get: impl Fn(&str) -> Option<String>,
    ) -> Option<Self> {
        if get("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            return None;
        }
        // The signal-specific URL is used as given; the base one gets the signal's path, as
        // the OTLP exporter specification says.
        let traces_url = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .map(|u| u.trim().to_owned())
            .or_else(|| {
                get("OTEL_EXPORTER_OTLP_ENDPOINT")
                    .map(|u| format!("{}/v1/traces", u.trim().trim_end_matches('/')))
            })?;
        // OTEL_SERVICE_NAME, then a service.name in OTEL_RESOURCE_ATTRIBUTES, then ours.
        let service_name = get("OTEL_SERVICE_NAME")
            .or_else(|| {
                get("OTEL_RESOURCE_ATTRIBUTES").and_then(|attrs| {
                    attrs.split(',').find_map(|kv| {
                        let (k, v) = kv.split_once('=')?;
                        (k.trim() == "service.name").then(|| v.trim().to_owned())
                    })
                })
            })
            .unwrap_or_else(|| default_service.to_owned());
        Some(OtlpSettings {
            traces_url,
            service_name,
        })
    }

    /// A protocol asked for in the environment that this build cannot speak, if any.
    pub fn unsupported_protocol() -> Option<String> {
        [
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ]
        .iter()
        .find_map(|name| std::env::var(name).ok())
        .filter(|p| p.trim() != PROTOCOL && !p.trim().is_empty())
    }

    /// A tracer provider exporting in batches from its own thread, so a slow or absent
    /// collector never holds up a request or a frame.
    pub fn provider(&self) -> Result<SdkTracerProvider, OtlpError> {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(&self.traces_url)
            .build()
            .map_err(|source| OtlpError {
                url: self.traces_url.clone(),
                source,
            })?;
        // Resource::builder() adds OTEL_RESOURCE_ATTRIBUTES and the SDK's own attributes.
        let resource = Resource::builder()
            .with_service_name(self.service_name.clone())
            .build();
        Ok(SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Option<OtlpSettings> {
        OtlpSettings::from_lookup("render-node", |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn export_is_off_without_an_endpoint() {
        assert_eq!(settings(&[("OTEL_SERVICE_NAME", "x")]), None);
        assert_eq!(
            settings(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_SDK_DISABLED", "true"),
            ]),
            None
        );
    }

    #[test]
    fn the_base_endpoint_gets_the_traces_path_and_the_default_name() {
        assert_eq!(
            settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")]),
            Some(OtlpSettings {
                traces_url: "http://collector:4318/v1/traces".into(),
                service_name: "render-node".into(),
            })
        );
    }

    #[test]
    fn the_traces_endpoint_and_service_name_win() {
        let s = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "https://b/otlp/traces",
            ),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=prod, service.name=from-attrs",
            ),
        ])
        .unwrap();
        assert_eq!(s.traces_url, "https://b/otlp/traces");
        assert_eq!(s.service_name, "from-attrs");
        let s = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"),
            ("OTEL_SERVICE_NAME", "node-eu-1"),
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs"),
        ])
        .unwrap();
        assert_eq!(s.service_name, "node-eu-1");
    }
}
