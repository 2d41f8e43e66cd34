//! Many fleet nodes in one process, each a real [`render_node::fleet::Node`] with its own
//! links (control-plane client, Redis writer, metrics registry, AMQP connection) on the
//! simulated engine. Node `i` is `{prefix}-{i}` and serves its `/metrics` on
//! `base_port + i`, so the driver can ask every node which streams it holds. SIGTERM
//! drains them all; SIGKILL of the process is the abrupt failure the driver measures.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use render_node::engine::sim::SimEngine;
use render_node::fleet::{self, Node};
use render_node::links::{Links, NodeConfig};
use tokio_util::task::TaskTracker;

/// What `fleet-sim nodes` takes.
#[derive(clap::Args)]
pub struct NodesArgs {
    /// How many nodes to run.
    #[arg(long)]
    count: usize,
    /// The first node's index (a second process continues the numbering).
    #[arg(long, default_value_t = 0)]
    first: usize,
    /// Streams each node may run.
    #[arg(long, default_value_t = 50)]
    capacity: usize,
    /// Node ids are `{prefix}-{index}`.
    #[arg(long, default_value = "sim")]
    prefix: String,
    /// Node `i` serves `/metrics` on `127.0.0.1:{base_port + i}`.
    #[arg(long, default_value_t = 19100)]
    base_port: u16,
}

/// Runs the nodes until SIGTERM or Ctrl-C, then drains them.
pub fn run(args: NodesArgs) -> anyhow::Result<()> {
    let base = NodeConfig::from_env().context("node settings")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let token = shared::shutdown::on_signal();
        let tasks = TaskTracker::new();
        for i in args.first..args.first + args.count {
            let port = args
                .base_port
                .checked_add(u16::try_from(i).context("too many nodes")?)
                .context("node port out of range")?;
            let mut cfg = base.clone();
            cfg.node_id = format!("{}-{i}", args.prefix);
            cfg.metrics_addr = SocketAddr::from(([127, 0, 0, 1], port));
            cfg.advertise_addr = cfg.metrics_addr.to_string();
            cfg.ingest_addr = None;
            cfg.limits.capacity = args.capacity;
            // The process is shared: its CPU and memory say nothing about one node.
            cfg.limits.max_cpu_percent = f64::INFINITY;
            cfg.limits.max_memory_percent = f64::INFINITY;
            cfg.limits.max_memory_bytes = None;
            let engine = Arc::new(SimEngine::new(cfg.node_id.clone()));
            let node = Node::new(Links::new(cfg)?, engine, None);
            tasks.spawn(fleet::run(node, token.clone()));
        }
        tasks.close();
        tracing::info!(nodes = args.count, "simulated nodes running");
        tasks.wait().await;
        anyhow::Ok(())
    })
}
