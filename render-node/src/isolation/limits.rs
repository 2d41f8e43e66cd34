//! What bounds one stream's process: its memory budget and CPU share, enforced by a cgroup
//! v2 child group when the node can create one (`memory.max`, `cpu.max`), otherwise by
//! `RLIMIT_AS` (set by the child on itself) plus the node watching its resident memory.
//!
//! Settings (environment):
//! - `STREAM_ISOLATION`: `inprocess` (default) or `process`.
//! - `STREAM_MEMORY_MAX_BYTES`: each stream's memory budget (default 1 GiB).
//! - `STREAM_CPU_MAX`: each stream's CPU share in cores, e.g. `1.5` (cgroups only; default
//!   none).

use std::path::{Path, PathBuf};

use shared::env::{self, EnvError};
use uuid::Uuid;

/// Address space a process reserves without using it (thread stacks, allocator arenas,
/// GStreamer's pools): `RLIMIT_AS` is the budget plus this, so it stops only runaway
/// allocations, and the node's watch on resident memory enforces the budget itself.
pub const ADDRESS_SPACE_HEADROOM: u64 = 3 << 30;

/// Where a node runs its streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// Every stream's pipeline in the node's own process.
    InProcess,
    /// Each stream's pipeline in a child process of the node.
    Process,
}

/// The isolation settings of a node.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IsolationConfig {
    pub mode: Isolation,
    pub budget: Budget,
}

/// One stream's limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub memory_bytes: u64,
    /// Cores; `None` is unlimited.
    pub cpu_cores: Option<f64>,
}

impl Budget {
    /// The `RLIMIT_AS` a stream's process sets on itself.
    pub fn address_space(&self) -> u64 {
        self.memory_bytes.saturating_add(ADDRESS_SPACE_HEADROOM)
    }
}

impl IsolationConfig {
    /// Reads `STREAM_ISOLATION`, `STREAM_MEMORY_MAX_BYTES` and `STREAM_CPU_MAX`.
    pub fn from_env() -> Result<Self, EnvError> {
        let mode = match env::or("STREAM_ISOLATION", "inprocess").as_str() {
            "inprocess" | "in-process" => Isolation::InProcess,
            "process" => Isolation::Process,
            other => {
                return Err(EnvError::Invalid {
                    name: "STREAM_ISOLATION",
                    value: other.to_owned(),
                    reason: "must be `process` or `inprocess`".into(),
                });
            }
        };
        let memory_bytes: u64 = env::parse_or("STREAM_MEMORY_MAX_BYTES", 1 << 30)?;
        let cpu_cores = match env::optional("STREAM_CPU_MAX") {
            None => None,
            Some(v) => Some(
                v.parse::<f64>()
                    .ok()
                    .filter(|c| c.is_finite() && *c > 0.0)
                    .ok_or_else(|| EnvError::Invalid {
                        name: "STREAM_CPU_MAX",
                        value: v.clone(),
                        reason: "must be a positive number of cores".into(),
                    })?,
            ),
        };
        if memory_bytes < 32 << 20 {
            return Err(EnvError::Invalid {
                name: "STREAM_MEMORY_MAX_BYTES",
                value: memory_bytes.to_string(),
                reason: "must be at least 32 MiB".into(),
            });
        }
        Ok(IsolationConfig {
            mode,
            budget: Budget {
                memory_bytes,
                cpu_cores,
            },
        })
    }
}

/// The cgroup v2 group under which the node makes one group per stream.
#[derive(Debug, Clone)]
pub struct Cgroups {
    root: PathBuf,
}

impl Cgroups {
    /// Takes the node's own cgroup for its streams when it is v2, has the memory and cpu
    /// controllers and is writable: the node moves itself into a `node` leaf (v2 lets only
    /// leaves hold processes once controllers are delegated) and enables them below.
    /// `None` (RLIMIT_AS instead) otherwise.
    pub fn delegate() -> Option<Cgroups> {
        let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
        // Pure v2: a single `0::/path` line.
        let mut lines = own.lines();
        let path = lines.next()?.strip_prefix("0::")?.to_owned();
        if lines.next().is_some() {
            return None;
        }
        let root = Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
        let controllers = std::fs::read_to_string(root.join("cgroup.controllers")).ok()?;
        if !(controllers.contains("memory") && controllers.contains("cpu")) {
            return None;
        }
        let leaf = root.join("node");
        let moved = std::fs::create_dir_all(&leaf)
            .and_then(|()| {
                std::fs::write(leaf.join("cgroup.procs"), std::process::id().to_string())
            })
            .and_then(|()| std::fs::write(root.join("cgroup.subtree_control"), "+memory +cpu"));
        match moved {
            Ok(()) => Some(Cgroups { root }),
            Err(e) => {
                tracing::info!(error = %e, cgroup = %root.display(), "no per-stream cgroups; limits by RLIMIT_AS");
                None
            }
        }
    }

    /// Puts `pid` in a new group for `stream_id` with `budget`'s limits; its path.
    pub fn place(&self, stream_id: Uuid, pid: u32, budget: &Budget) -> std::io::Result<PathBuf> {
        let dir = self.root.join(format!("stream-{}", stream_id.simple()));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("memory.max"), budget.memory_bytes.to_string())?;
        // No swap: over budget is over budget.
        let _ = std::fs::write(dir.join("memory.swap.max"), "0");
        if let Some(cores) = budget.cpu_cores {
            let period = 100_000u64;
            let quota = (cores * period as f64).round().max(1000.0) as u64;
            std::fs::write(dir.join("cpu.max"), format!("{quota} {period}"))?;
        }
        std::fs::write(dir.join("cgroup.procs"), pid.to_string())?;
        Ok(dir)
    }
}

/// Whether the kernel's OOM killer ended a process of the group at `dir`.
pub fn oom_killed(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("memory.events")).is_ok_and(|e| {
        e.lines()
            .filter_map(|l| l.strip_prefix("oom_kill "))
            .any(|n| n.trim().parse::<u64>().is_ok_and(|n| n > 0))
    })
}

/// Removes a stream's group once its process is gone (a group with processes stays).
pub fn remove_group(dir: &Path) {
    let _ = std::fs::remove_dir(dir);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_space_limit_leaves_room_over_the_budget() {
        let b = Budget {
            memory_bytes: 1 << 30,
            cpu_cores: None,
        };
        assert_eq!(b.address_space(), (1 << 30) + ADDRESS_SPACE_HEADROOM);
    }
}
