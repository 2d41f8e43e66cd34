//! W3C trace context (`traceparent`, `tracestate`) as it crosses process boundaries: HTTP
//! headers, outbox rows and AMQP message headers, so one trace follows a request from the
//! API through the outbox and the broker into the render node's work.
//!
//! Without the OpenTelemetry layer (export off) spans have no trace context: [`TraceContext::of`]
//! gives `None` and [`TraceContext::adopt`] does nothing.

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Header (and AMQP header) naming the parent span.
pub const TRACEPARENT: &str = "traceparent";
/// Header carrying vendors' trace state along with it.
pub const TRACESTATE: &str = "tracestate";
/// The longest `tracestate` kept: the W3C limit, so a client cannot make us store and
/// forward arbitrary amounts of data.
const MAX_TRACESTATE: usize = 512;

/// The propagation fields of one span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    pub traceparent: String,
    pub tracestate: Option<String>,
}

impl Extractor for TraceContext {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            TRACEPARENT => Some(&self.traceparent),
            TRACESTATE => self.tracestate.as_deref(),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT, TRACESTATE]
    }
}

impl TraceContext {
    /// The context to hand on for `span`; `None` when it has none (no OpenTelemetry layer,
    /// or the span is filtered out).
    pub fn of(span: &tracing::Span) -> Option<Self> {
        let mut carrier = HashMap::new();
        TraceContextPropagator::new().inject_context(&span.context(), &mut carrier);
        Self::from_fields(|name| carrier.get(name).map(String::as_str))
    }

    /// The context of the span the caller is in.
    pub fn current() -> Option<Self> {
        Self::of(&tracing::Span::current())
    }

    /// Reads the fields from a carrier (`get` looks a header up by lower-case name); `None`
    /// unless `traceparent` is a valid W3C trace parent.
    pub fn from_fields<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Option<Self> {
        let ctx = TraceContext {
            traceparent: get(TRACEPARENT)?.trim().to_owned(),
            tracestate: get(TRACESTATE)
                .map(str::trim)
                .filter(|s| !s.is_empty() && s.len() <= MAX_TRACESTATE)
                .map(str::to_owned),
        };
        ctx.span_context().is_valid().then_some(ctx)
    }

    /// The remote span this context names.
    pub fn span_context(&self) -> SpanContext {
        let cx = TraceContextPropagator::new().extract(self);
        cx.span().span_context().clone()
    }

    /// Makes this context the parent of `span`, which must not have been entered yet.
    pub fn adopt(&self, span: &tracing::Span) {
        let cx = TraceContextPropagator::new().extract(self);
        // Fails only without the OpenTelemetry layer or for a filtered-out span: then there
        // is no trace to continue.
        let _ = span.set_parent(cx);
    }

    /// The fields as (name, value) pairs, for headers.
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, &str)> {
        std::iter::once((TRACEPARENT, self.traceparent.as_str()))
            .chain(self.tracestate.as_deref().map(|s| (TRACESTATE, s)))
    }
}

/// Runs `f` under an OpenTelemetry layer with no exporter, and returns the spans that ended
/// in it, for tests of propagation.
#[cfg(test)]
pub(crate) fn recording<R>(f: impl FnOnce() -> R) -> (R, Vec<opentelemetry_sdk::trace::SpanData>) {
    use std::sync::Arc;

    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{SpanData, SpanProcessor};
    use parking_lot::Mutex;
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Debug, Default, Clone)]
    struct Recorder(Arc<Mutex<Vec<SpanData>>>);
    impl SpanProcessor for Recorder {
        fn on_start(&self, _: &mut opentelemetry_sdk::trace::Span, _: &opentelemetry::Context) {}
        fn on_end(&self, span: SpanData) {
            self.0.lock().push(span);
        }
        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }
        fn shutdown_with_timeout(&self, _: std::time::Duration) -> OTelSdkResult {
            Ok(())
        }
    }

    let recorder = Recorder::default();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_span_processor(recorder.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let out = tracing::subscriber::with_default(subscriber, f);
    let spans = std::mem::take(&mut *recorder.0.lock());
    (out, spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_is_read_and_garbage_is_not() {
        let ctx = TraceContext::from_fields(|k| match k {
            TRACEPARENT => Some(PARENT),
            TRACESTATE => Some("vendor=abc"),
            _ => None,
        })
        .expect("valid");
        assert_eq!(
            ctx.span_context().trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(ctx.tracestate.as_deref(), Some("vendor=abc"));
        for bad in [
            "",
            "00-xyz",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceContext::from_fields(|_| Some(bad)), None, "{bad:?}");
        }
        let long = "k=".to_owned() + &"v".repeat(MAX_TRACESTATE);
        let ctx =
            TraceContext::from_fields(|k| Some(if k == TRACEPARENT { PARENT } else { &long }));
        assert_eq!(
            ctx.expect("valid").tracestate,
            None,
            "oversized state dropped"
        );
    }

    #[test]
    fn a_span_without_the_opentelemetry_layer_has_no_context() {
        let span = tracing::info_span!("plain");
        assert_eq!(TraceContext::of(&span), None);
    }

    #[test]
    fn an_adopted_context_becomes_the_parent() {
        let incoming =
            TraceContext::from_fields(|k| (k == TRACEPARENT).then_some(PARENT)).expect("valid");
        let (out, spans) = recording(|| {
            let span = tracing::info_span!("request");
            incoming.adopt(&span);
            TraceContext::of(&span).expect("a context")
        });
        let parent = incoming.span_context();
        assert_eq!(out.span_context().trace_id(), parent.trace_id());
        let [request] = spans.as_slice() else {
            panic!("one span expected: {spans:?}")
        };
        assert_eq!(request.span_context.span_id(), out.span_context().span_id());
        assert_eq!(request.parent_span_id, parent.span_id());
        assert!(request.parent_span_is_remote);
    }
}
