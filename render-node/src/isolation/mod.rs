//! Stream isolation: each stream's pipeline in a child process of the node, so one
//! tenant's crashing decoder, runaway allocation or deadlock takes down only its own
//! stream — which the node restarts at once, on the same node, under the same lease.
//!
//! [`ProcessEngine`] fits the fleet's [`StreamEngine`] seam beside the in-process engine;
//! `STREAM_ISOLATION=process` selects it (see [`limits`] for the settings).
//!
//! - [`protocol`]: the messages between a node and its stream processes, and their framing.
//! - [`child`]: `render-node stream-child` — the stream's process.
//! - [`spawn`]: starting one stream process on a socket pair.
//! - [`keeper`]: the node's thread per stream — restarts, memory watch, reaping.
//! - [`handle`]: [`handle::ChildStream`], the [`RunningStream`] over a stream process.
//! - [`limits`]: the per-stream budget, cgroup v2 groups, `RLIMIT_AS`.
//!
//! Streams with ingest layers stay in the node's process: their feeds come from its
//! in-process ingest hub, which a child cannot see.

pub mod child;
pub mod handle;
pub mod keeper;
pub mod limits;
pub mod protocol;
pub mod spawn;

use std::path::PathBuf;
use std::sync::Arc;

use shared::layer::LayerKind;
use shared::spec::StreamSpec;

pub use self::limits::{Budget, Isolation, IsolationConfig};

use self::handle::ChildStream;
use self::limits::Cgroups;
use crate::engine::{Engine, RunningStream, StreamEngine};
use crate::error::{RenderError, Result};

/// What every stream process of a node is started with.
pub struct Launch {
    /// This binary.
    pub exe: PathBuf,
    pub budget: Budget,
    pub cgroups: Option<Arc<Cgroups>>,
    pub node_id: String,
    pub asset_bases: Vec<String>,
}

/// Runs each stream in a child process; streams with ingest layers on `in_process`.
pub struct ProcessEngine {
    launch: Arc<Launch>,
    in_process: Engine,
}

impl ProcessEngine {
    /// An engine starting this binary once per stream, with `budget` each. Takes the
    /// node's cgroup for its streams when it can.
    pub fn new(
        in_process: Engine,
        budget: Budget,
        node_id: String,
        asset_bases: Vec<String>,
    ) -> Result<Self> {
        let exe = std::env::current_exe().map_err(|e| RenderError::Io {
            what: "find the render-node binary".into(),
            source: e,
        })?;
        Ok(Self::with_binary(
            in_process,
            budget,
            node_id,
            asset_bases,
            exe,
        ))
    }

    /// As [`Self::new`], starting `exe` (a `render-node` binary) rather than this one: for
    /// benchmarks and tests that are not `render-node` themselves.
    pub fn with_binary(
        in_process: Engine,
        budget: Budget,
        node_id: String,
        asset_bases: Vec<String>,
        exe: PathBuf,
    ) -> Self {
        let cgroups = Cgroups::delegate().map(Arc::new);
        tracing::info!(
            memory_max_bytes = budget.memory_bytes,
            cpu_max = ?budget.cpu_cores,
            cgroups = cgroups.is_some(),
            "streams run in their own processes"
        );
        ProcessEngine {
            launch: Arc::new(Launch {
                exe,
                budget,
                cgroups,
                node_id,
                asset_bases,
            }),
            in_process,
        }
    }
}

/// Whether a spec shows a live feed (which only the node's own process can see).
fn has_ingest(spec: &StreamSpec) -> bool {
    spec.layers.iter().any(|l| l.kind == LayerKind::Ingest)
}

impl StreamEngine for ProcessEngine {
    fn start(&self, spec: &StreamSpec) -> Result<Box<dyn RunningStream>> {
        if has_ingest(spec) {
            tracing::info!(stream_id = %spec.stream_id, "ingest layers: the stream runs in the node's process");
            return StreamEngine::start(&self.in_process, spec);
        }
        Ok(Box::new(ChildStream::start(self.launch.clone(), spec)?))
    }

    fn warm_up(&self) -> Result<()> {
        StreamEngine::warm_up(&self.in_process)
    }
}
