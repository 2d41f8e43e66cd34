//! Memory in use, measured as what the node can actually run out of: its container's working
//! set against the container's limit when its cgroup has one (cgroup v2 or v1), else the
//! machine's memory in use against the machine's total. The working set leaves out reclaimable page cache, as the
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

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

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
