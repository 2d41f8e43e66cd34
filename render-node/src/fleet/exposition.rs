//! What `/metrics` shows: the node's registry (counters, node-wide gauges), then one set of
//! series per stream the node holds now, built from the stream's last report at scrape.
//!
//! The per-stream series are a view rather than registered metrics because a Prometheus
//! recorder cannot forget a series, and a stream's must disappear the moment the stream
//! leaves the node (stopped, handed off, fenced): a view of what is held cannot go stale.

use metrics_exporter_prometheus::PrometheusBuilder;

use super::held::HeldStreams;
use super::node::Node;

/// The node's metrics in the Prometheus text format; the per-stream series only for a
/// scraper that presented the metrics token (`authorized`), since they name stream ids.
pub fn render(node: &Node, authorized: bool) -> String {
    let mut out = node.links.metrics.render();
    if authorized {
        out.push_str(&streams(&node.held));
    }
    out
}

/// Whether an `Authorization` header value carries the node's metrics token. No token
/// configured means nobody sees the per-stream series: an operator who wants them sets one.
pub fn authorized(token: Option<&secrecy::SecretString>, header: Option<&str>) -> bool {
    use secrecy::ExposeSecret;
    use subtle::ConstantTimeEq;
    let (Some(token), Some(given)) = (token, header.and_then(|h| h.strip_prefix("Bearer "))) else {
        return false;
    };
    bool::from(given.as_bytes().ct_eq(token.expose_secret().as_bytes()))
}

/// One set of series per held stream that has been reported, labelled with its id.
fn streams(held: &HeldStreams) -> String {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        for (id, stream) in held.all() {
            let Some(r) = stream.last_report() else {
                continue;
            };
            let labels = [("stream_id", id.to_string())];
            metrics::counter!("stream_frames_total", &labels).absolute(r.frame_count);
            metrics::counter!("stream_dropped_frames_total", &labels).absolute(r.dropped_frames);
            metrics::gauge!("stream_frames_per_second", &labels).set(r.fps);
            metrics::gauge!("stream_composite_seconds", &labels).set(r.average_render_time / 1e3);
            metrics::gauge!("stream_encoder_latency_seconds", &labels)
                .set(r.encoder_latency_ms / 1e3);
            metrics::gauge!("stream_output_latency_seconds", &labels)
                .set(r.output_latency_ms / 1e3);
            metrics::gauge!("stream_output_bitrate_bits_per_second", &labels).set(r.bitrate * 1e3);
        }
    });
    handle.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::StreamEngine;
    use crate::engine::sim::{SimEngine, test_spec};
    use crate::fleet::held::HeldStream;

    #[test]
    fn a_streams_series_are_shown_while_it_is_held_and_gone_after() {
        let held = HeldStreams::default();
        let spec = test_spec(1, 30);
        let handle = SimEngine::new("n1").start(&spec).unwrap();
        let report = handle.report();
        let stream = held.insert(spec.stream_id, HeldStream::new(handle, "acme".into(), 1));
        assert_eq!(streams(&held), "", "nothing before the first report");
        stream.reported(&report);
        let shown = streams(&held);
        let label = format!("stream_id=\"{}\"", spec.stream_id);
        for name in [
            "stream_frames_total",
            "stream_dropped_frames_total",
            "stream_frames_per_second",
            "stream_output_bitrate_bits_per_second",
        ] {
            assert!(
                shown.contains(&format!("{name}{{{label}}}")),
                "{name}: {shown}"
            );
        }
        held.remove(spec.stream_id);
        assert!(!streams(&held).contains(&label));
    }

    #[test]
    fn only_the_configured_bearer_token_opens_the_per_stream_series() {
        let token = secrecy::SecretString::from("s3cret".to_owned());
        assert!(authorized(Some(&token), Some("Bearer s3cret")));
        assert!(!authorized(Some(&token), Some("Bearer s3cre")));
        assert!(!authorized(Some(&token), Some("s3cret")));
        assert!(!authorized(Some(&token), None));
        assert!(!authorized(None, Some("Bearer ")));
    }
}
