//! Admission: whether the node takes another start job, from its free slots and its measured
//! CPU and memory.
//!
//! Memory is what the node can actually run out of: its container's working set against the
//! container's limit when its cgroup has one (cgroup v2 or v1), else the machine's memory in
//! use against the machine's total. The working set leaves out reclaimable page cache, as the
//! kubelet's eviction does, so a node that merely read big files is not refused work.

use std::path::Path;

/// Memory in use and the most the node may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUse {
    /// Bytes in use (working set).
    pub used: u64,
    /// Bytes available at most: the cgroup limit, or the machine's memory.
    pub total: u64,
}

impl MemoryUse {
    /// Measures the node's container (when it has a memory limit) or the machine; `None`
    /// where neither can be read (then memory never refuses a job).
    pub fn measure() -> Option<Self> {
        let machine = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| from_meminfo(&m));
        let machine_total = machine.map_or(u64::MAX, |m| m.total);
        cgroup(Path::new("/sys/fs/cgroup"), CGROUP_V2, machine_total)
            .or_else(|| cgroup(Path::new("/sys/fs/cgroup/memory"), CGROUP_V1, machine_total))
            .or(machine)
    }

    /// `used` as a percentage of `total`.
    pub fn percent(&self) -> f64 {
        self.used as f64 * 100.0 / self.total.max(1) as f64
    }
}

/// File names of one cgroup version's memory controller.
struct CgroupFiles {
    limit: &'static str,
    usage: &'static str,
    /// The `memory.stat` key counting reclaimable file cache.
    inactive_file: &'static str,
}

const CGROUP_V2: CgroupFiles = CgroupFiles {
    limit: "memory.max",
    usage: "memory.current",
    inactive_file: "inactive_file",
};

const CGROUP_V1: CgroupFiles = CgroupFiles {
    limit: "memory.limit_in_bytes",
    usage: "memory.usage_in_bytes",
    inactive_file: "total_inactive_file",
};

fn cgroup(dir: &Path, files: CgroupFiles, machine_total: u64) -> Option<MemoryUse> {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    from_cgroup(
        &read(files.limit)?,
        &read(files.usage)?,
        &read("memory.stat").unwrap_or_default(),
        files.inactive_file,
        machine_total,
    )
}

/// A cgroup's memory from its files; `None` when it has no limit of its own (v2 `max`, or a
/// v1 limit at or above the machine's memory), since the machine is then what runs out.
fn from_cgroup(
    limit: &str,
    usage: &str,
    stat: &str,
    inactive_key: &str,
    machine_total: u64,
) -> Option<MemoryUse> {
    let total: u64 = limit.trim().parse().ok()?;
    if total == 0 || total >= machine_total {
        return None;
    }
    let usage: u64 = usage.trim().parse().ok()?;
    let inactive = stat
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(' ')?;
            (k == inactive_key).then(|| v.trim().parse::<u64>().ok())?
        })
        .unwrap_or(0);
    Some(MemoryUse {
        used: usage.saturating_sub(inactive),
        total,
    })
}

/// The machine's memory from `/proc/meminfo`: in use is total minus `MemAvailable`.
fn from_meminfo(meminfo: &str) -> Option<MemoryUse> {
    let kib = |key: &str| {
        meminfo.lines().find_map(|l| {
            let rest = l.strip_prefix(key)?.strip_prefix(':')?;
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
    };
    let total = kib("MemTotal")? * 1024;
    let available = kib("MemAvailable")? * 1024;
    Some(MemoryUse {
        used: total.saturating_sub(available),
        total,
    })
}

/// The operator's limits (`NODE_CAPACITY`, `NODE_MAX_CPU_PERCENT`, `NODE_MAX_MEMORY_*`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Streams the node may run at once.
    pub capacity: usize,
    /// Percent of the machine's CPU (all cores) above which no job is taken.
    pub max_cpu_percent: f64,
    /// Percent of the memory limit above which no job is taken.
    pub max_memory_percent: f64,
    /// Bytes in use above which no job is taken, whatever the percentage.
    pub max_memory_bytes: Option<u64>,
}

/// What the node measures about itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    /// Streams running or being started.
    pub busy: usize,
    pub draining: bool,
    /// CPU used by the process, in percent of one core.
    pub cpu_percent: f64,
    /// Cores of the machine.
    pub cores: f64,
    pub memory: Option<MemoryUse>,
}

/// Why the node takes no job right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// SIGTERM: the node is handing its streams away.
    Draining,
    /// Every slot is taken.
    Full,
    /// CPU above `NODE_MAX_CPU_PERCENT`.
    Cpu,
    /// Memory above `NODE_MAX_MEMORY_PERCENT` or `NODE_MAX_MEMORY_BYTES`.
    Memory,
}

impl Refusal {
    /// The reason as logs and metrics name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Draining => "draining",
            Refusal::Full => "full",
            Refusal::Cpu => "cpu",
            Refusal::Memory => "memory",
        }
    }
}

/// Whether a node under `load` takes another job; the first reason it does not.
pub fn admit(limits: &Limits, load: &Load) -> Result<(), Refusal> {
    if load.draining {
        return Err(Refusal::Draining);
    }
    if load.busy >= limits.capacity {
        return Err(Refusal::Full);
    }
    // Both in percent of one core: 90 % of two cores is 180.
    if load.cpu_percent >= limits.max_cpu_percent * load.cores {
        return Err(Refusal::Cpu);
    }
    if let Some(m) = load.memory
        && (m.percent() >= limits.max_memory_percent
            || limits.max_memory_bytes.is_some_and(|max| m.used >= max))
    {
        return Err(Refusal::Memory);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    fn limits() -> Limits {
        Limits {
            capacity: 2,
            max_cpu_percent: 90.0,
            max_memory_percent: 90.0,
            max_memory_bytes: None,
        }
    }

    fn idle() -> Load {
        Load {
            busy: 0,
            draining: false,
            cpu_percent: 10.0,
            cores: 2.0,
            memory: Some(MemoryUse {
                used: 2 * GIB,
                total: 8 * GIB,
            }),
        }
    }

    #[test]
    fn an_idle_node_takes_a_job() {
        assert_eq!(admit(&limits(), &idle()), Ok(()));
    }

    #[test]
    fn memory_above_the_percentage_refuses_jobs_even_with_free_slots_and_cpu() {
        let load = Load {
            memory: Some(MemoryUse {
                used: 7_500 * (GIB / 1000),
                total: 8 * GIB,
            }),
            ..idle()
        };
        assert_eq!(admit(&limits(), &load), Err(Refusal::Memory));
        // Just under the limit is fine.
        let load = Load {
            memory: Some(MemoryUse {
                used: 7 * GIB,
                total: 8 * GIB,
            }),
            ..idle()
        };
        assert_eq!(admit(&limits(), &load), Ok(()));
    }

    #[test]
    fn memory_above_the_byte_limit_refuses_jobs() {
        let limits = Limits {
            max_memory_bytes: Some(GIB),
            ..limits()
        };
        assert_eq!(admit(&limits, &idle()), Err(Refusal::Memory));
        let limits = Limits {
            max_memory_bytes: Some(3 * GIB),
            ..limits
        };
        assert_eq!(admit(&limits, &idle()), Ok(()));
    }

    #[test]
    fn unmeasurable_memory_does_not_block_the_node() {
        let load = Load {
            memory: None,
            ..idle()
        };
        assert_eq!(admit(&limits(), &load), Ok(()));
    }

    #[test]
    fn slots_cpu_and_draining_refuse_in_that_order() {
        let full = Load { busy: 2, ..idle() };
        assert_eq!(admit(&limits(), &full), Err(Refusal::Full));
        // 90 % of two cores is 180 % of one.
        let hot = Load {
            cpu_percent: 185.0,
            ..idle()
        };
        assert_eq!(admit(&limits(), &hot), Err(Refusal::Cpu));
        let warm = Load {
            cpu_percent: 150.0,
            ..idle()
        };
        assert_eq!(admit(&limits(), &warm), Ok(()));
        let draining = Load {
            draining: true,
            busy: 2,
            ..idle()
        };
        assert_eq!(admit(&limits(), &draining), Err(Refusal::Draining));
    }

    #[test]
    fn reads_the_machine_from_meminfo() {
        let meminfo = "MemTotal:       24684000 kB\nMemFree:        15000000 kB\nMemAvailable:   22000000 kB\n";
        let m = from_meminfo(meminfo).unwrap();
        assert_eq!(m.total, 24_684_000 * 1024);
        assert_eq!(m.used, 2_684_000 * 1024);
        assert!(from_meminfo("MemTotal: 10 kB\n").is_none());
    }

    #[test]
    fn reads_a_limited_cgroup_without_its_page_cache() {
        let stat = "anon 100\nfile 900\ninactive_file 300\nactive_file 600\n";
        let m = from_cgroup(
            "2147483648\n",
            "1073741824\n",
            stat,
            "inactive_file",
            8 * GIB,
        );
        assert_eq!(
            m,
            Some(MemoryUse {
                used: GIB - 300,
                total: 2 * GIB
            })
        );
        let v1 = "cache 10\ntotal_inactive_file 24\n";
        let m = from_cgroup("1073741824", "1000", v1, "total_inactive_file", 8 * GIB).unwrap();
        assert_eq!(m.used, 976);
    }

    #[test]
    fn an_unlimited_cgroup_defers_to_the_machine() {
        assert_eq!(
            from_cgroup("max\n", "5", "", "inactive_file", 8 * GIB),
            None
        );
        // cgroup v1 writes "no limit" as a huge number.
        assert_eq!(
            from_cgroup(
                "9223372036854771712",
                "5",
                "",
                "total_inactive_file",
                8 * GIB
            ),
            None
        );
    }

    #[test]
    fn this_machine_can_be_measured() {
        let m = MemoryUse::measure().expect("memory of this machine");
        assert!(m.used > 0 && m.used <= m.total, "{m:?}");
    }
}
