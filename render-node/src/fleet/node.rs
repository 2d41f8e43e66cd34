//! A fleet node: its links, its engine, the streams it holds, and what it measures about
//! itself to decide whether to take more work. Every loop of the node shares one [`Node`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use metrics::{Counter, Gauge};
use parking_lot::Mutex;
use shared::node_api::NodeInfo;
use tokio_util::task::TaskTracker;

use super::admission::{self, Load, Refusal};
use super::held::HeldStreams;
use crate::engine::StreamEngine;
use crate::ingest::Ingest;
use crate::links::{Links, NodeMetrics};
use crate::system::memory::MemoryUse;
use crate::system::process::{cores, resident_bytes};
use crate::system::unix_ms;

/// Everything the node's loops share.
pub struct Node {
    pub links: Arc<Links>,
    /// What runs the streams (the GStreamer engine, or a simulated one).
    pub engine: Arc<dyn StreamEngine>,
    pub held: HeldStreams,
    /// RTMP ingest, when the node runs it.
    pub ingest: Option<Arc<Ingest>>,
    /// Streams being started (they count against capacity).
    pub(crate) starting: AtomicUsize,
    draining: AtomicBool,
    /// CPU used by the process over the last tick, in percent of one core.
    cpu_percent: Mutex<f64>,
    /// The machine's or container's memory as of the last tick.
    memory: Mutex<Option<MemoryUse>>,
    /// Why the node last refused jobs, to log changes only.
    refusal: Mutex<Option<Refusal>>,
    /// Job and command handlers in flight: shutdown waits for them before draining.
    pub(crate) handlers: TaskTracker,
    /// Each held stream's event forwarder: they end with their streams.
    pub(crate) forwarders: TaskTracker,
    pub(crate) gauges: NodeGauges,
    pub(crate) jobs_consumed: Counter,
}

/// The node-wide gauges, set every tick.
pub(crate) struct NodeGauges {
    pub capacity: Gauge,
    pub streams: Gauge,
    pub free_slots: Gauge,
    pub accepting: Gauge,
    /// Cores busy (1.0 = one core).
    pub cpu_usage_ratio: Gauge,
    /// Memory in use against the container's limit or the machine's total (0..1).
    pub memory_usage_ratio: Gauge,
    pub resident_memory_bytes: Gauge,
}

impl NodeGauges {
    fn new(m: &NodeMetrics) -> Self {
        NodeGauges {
            capacity: m.gauge("node_capacity"),
            streams: m.gauge("node_streams"),
            free_slots: m.gauge("node_free_slots"),
            accepting: m.gauge("node_accepting"),
            cpu_usage_ratio: m.gauge("node_cpu_usage_ratio"),
            memory_usage_ratio: m.gauge("node_memory_usage_ratio"),
            resident_memory_bytes: m.gauge("node_resident_memory_bytes"),
        }
    }
}

impl Node {
    /// A node ready to run: `engine` runs its streams, `ingest` (if any) its RTMP endpoint.
    pub fn new(
        links: Arc<Links>,
        engine: Arc<dyn StreamEngine>,
        ingest: Option<Arc<Ingest>>,
    ) -> Arc<Self> {
        Arc::new(Node {
            gauges: NodeGauges::new(&links.metrics),
            jobs_consumed: links.metrics.counter("jobs_consumed_total", &[]),
            links,
            engine,
            held: HeldStreams::default(),
            ingest,
            starting: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
            cpu_percent: Mutex::new(0.0),
            memory: Mutex::new(MemoryUse::measure()),
            refusal: Mutex::new(None),
            handlers: TaskTracker::new(),
            forwarders: TaskTracker::new(),
        })
    }

    /// The node's id.
    pub fn id(&self) -> &str {
        &self.links.cfg.node_id
    }

    /// Records what the last tick measured.
    pub(crate) fn measured(&self, cpu_percent: Option<f64>, memory: Option<MemoryUse>) {
        if let Some(c) = cpu_percent {
            *self.cpu_percent.lock() = c;
        }
        *self.memory.lock() = memory;
    }

    /// From now on the node takes no job: it is handing its streams away.
    pub(crate) fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// CPU used by the process over the last tick, in percent of one core.
    fn cpu_percent(&self) -> f64 {
        // Read in a function of its own: the guard must not outlive the read (a struct
        // literal keeps its temporaries, and the lock is not reentrant).
        *self.cpu_percent.lock()
    }

    /// The memory measured at the last tick.
    pub(crate) fn memory(&self) -> Option<MemoryUse> {
        *self.memory.lock()
    }

    /// What admission looks at, as of the last tick.
    fn load(&self) -> Load {
        Load {
            running: self.held.len(),
            starting: self.starting.load(Ordering::Relaxed),
            draining: self.draining.load(Ordering::Relaxed),
            cpu_percent: self.cpu_percent(),
            cores: cores(),
            memory: self.memory(),
        }
    }

    /// Streams the node can still take: slots under its capacity that its CPU also covers.
    pub(crate) fn free_slots(&self) -> usize {
        admission::free_slots(&self.links.cfg.limits, &self.load())
    }

    /// Whether the node should take another job: not draining, a free slot, CPU and memory
    /// headroom. Logs when the answer changes.
    pub(crate) fn accepting(&self) -> bool {
        let verdict = admission::admit(&self.links.cfg.limits, &self.load()).err();
        let mut last = self.refusal.lock();
        if *last != verdict {
            match verdict {
                Some(reason) => {
                    tracing::info!(node_id = %self.id(), reason = reason.as_str(), "taking no new jobs")
                }
                None => tracing::info!(node_id = %self.id(), "taking jobs again"),
            }
            *last = verdict;
        }
        verdict.is_none()
    }

    /// What the heartbeat tells operators.
    pub(crate) fn info(&self) -> NodeInfo {
        NodeInfo {
            node_id: self.id().to_owned(),
            capacity: self.links.cfg.limits.capacity,
            streams: self.held.len(),
            cpu_usage: self.cpu_percent(),
            memory_usage: resident_bytes(),
            accepting: self.accepting(),
            draining: self.draining.load(Ordering::Relaxed),
            http_addr: self.links.cfg.advertise_addr.clone(),
            rtsp_addr: self.links.cfg.rtsp_advertise_addr(),
            updated_at: unix_ms(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::sim::SimEngine;
    use crate::links::config::test_config;

    /// A node on the simulated engine, as a load harness runs many in one process.
    fn sim_node(id: &str, capacity: usize) -> Arc<Node> {
        let mut cfg = test_config(id);
        cfg.limits.capacity = capacity;
        // The process is shared: its CPU and memory say nothing about one simulated node.
        cfg.limits.max_cpu_percent = f64::INFINITY;
        cfg.limits.max_memory_percent = f64::INFINITY;
        let links = Links::new(cfg).unwrap();
        Node::new(links, Arc::new(SimEngine::new(id)), None)
    }

    #[test]
    fn a_node_describes_itself_and_admits_by_its_own_slots() {
        let (a, b) = (sim_node("sim-a", 3), sim_node("sim-b", 0));
        a.measured(Some(250.0), None);
        let info = a.info();
        assert_eq!((info.node_id.as_str(), info.capacity), ("sim-a", 3));
        assert_eq!((info.cpu_usage, info.accepting), (250.0, true));
        assert_eq!(a.free_slots(), 3);
        assert!(!b.info().accepting, "a node without slots takes nothing");
        a.start_draining();
        assert!(!a.accepting() && a.info().draining);
    }
}
