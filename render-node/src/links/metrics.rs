//! The node's Prometheus registry: its own, not the process-global recorder, so several
//! nodes can run in one process (a fleet load harness) each with its own figures.
//!
//! Counters and node-wide gauges live here for the node's lifetime. Per-stream series do
//! not: they are a view of the streams the node holds now (see `fleet::exposition`), since
//! a recorder cannot forget a series and a stream's must go when the stream leaves.

use std::sync::Arc;

use metrics::{Counter, Gauge, Label};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};

/// One node's metrics.
#[derive(Clone)]
pub struct NodeMetrics {
    recorder: Arc<PrometheusRecorder>,
}

impl Default for NodeMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeMetrics {
    /// An empty registry.
    pub fn new() -> Self {
        NodeMetrics {
            recorder: Arc::new(PrometheusBuilder::new().build_recorder()),
        }
    }

    /// The counter `name` with `labels`, registered here.
    pub fn counter(&self, name: &'static str, labels: &[(&'static str, &'static str)]) -> Counter {
        let labels: Vec<Label> = labels.iter().map(|(k, v)| Label::new(*k, *v)).collect();
        metrics::with_local_recorder(&*self.recorder, || metrics::counter!(name, labels))
    }

    /// The gauge `name`, registered here.
    pub fn gauge(&self, name: &'static str) -> Gauge {
        metrics::with_local_recorder(&*self.recorder, || metrics::gauge!(name))
    }

    /// Everything registered, in the Prometheus text format.
    pub fn render(&self) -> String {
        self.recorder.handle().render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_nodes_in_one_process_keep_their_own_figures() {
        let (a, b) = (NodeMetrics::new(), NodeMetrics::new());
        a.counter("jobs_consumed_total", &[]).increment(3);
        b.gauge("node_capacity").set(4.0);
        let (ra, rb) = (a.render(), b.render());
        assert!(
            ra.contains("jobs_consumed_total 3") && !ra.contains("node_capacity"),
            "{ra}"
        );
        assert!(
            rb.contains("node_capacity 4") && !rb.contains("jobs_consumed"),
            "{rb}"
        );
    }
}
