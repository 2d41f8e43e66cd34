//! This process's CPU time and resident memory, from `/proc/self` (and a stream
//! process's, from `/proc/PID`), and the CPU time of the node with its stream processes.

use std::time::Instant;

/// `USER_HZ`: the unit of /proc CPU times. It is 100 on every Linux ABI we run on; reading
/// it properly needs `sysconf`, which the crate's no-unsafe rule keeps out.
pub const CLOCK_TICKS_PER_SEC: f64 = 100.0;

/// User plus system CPU time of this process, in clock ticks (`/proc/self/stat`).
pub fn process_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_cpu_ticks(&stat)
}

fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) may contain spaces; fields after its closing ')' are fixed.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// User plus system CPU time of this process and of its children, in clock ticks: the
/// running ones (`/proc/PID/stat` of each process whose parent is this one) and the ones
/// already reaped (`cutime` + `cstime`, to which a child's time moves when it is waited for,
/// so the sum does not jump back when a stream process ends). With isolated streams this is
/// what the node's streams cost; in-process it is the process's own time.
pub fn tree_cpu_ticks() -> Option<u64> {
    let me = std::process::id();
    let own = std::fs::read_to_string("/proc/self/stat").ok()?;
    let mut ticks = parse_cpu_ticks(&own)? + parse_reaped_ticks(&own).unwrap_or(0);
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Some(ticks);
    };
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        // A process that ends between the listing and the read is simply not counted.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if parse_parent(&stat) == Some(me) {
            ticks += parse_cpu_ticks(&stat).unwrap_or(0);
        }
    }
    Some(ticks)
}

fn fields_after_name(stat: &str) -> Option<Vec<&str>> {
    Some(stat.rsplit_once(')')?.1.split_whitespace().collect())
}

fn parse_parent(stat: &str) -> Option<u32> {
    // ppid is field 4: index 1 after the name.
    fields_after_name(stat)?.get(1)?.parse().ok()
}

fn parse_reaped_ticks(stat: &str) -> Option<u64> {
    // cutime (16) and cstime (17): indexes 13 and 14 after the name.
    let f = fields_after_name(stat)?;
    Some(f.get(13)?.parse::<u64>().ok()? + f.get(14)?.parse::<u64>().ok()?)
}

/// User plus system CPU time of process `pid` (a node's stream process), in clock ticks.
pub fn cpu_ticks_of(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_cpu_ticks(&stat)
}

/// Resident memory of this process in bytes (`/proc/self/statm`, pages of 4 KiB).
pub fn resident_bytes() -> u64 {
    read_resident("/proc/self/statm").unwrap_or(0)
}

/// Resident memory of process `pid` in bytes; `None` once it is gone.
pub fn resident_bytes_of(pid: u32) -> Option<u64> {
    read_resident(&format!("/proc/{pid}/statm"))
}

fn read_resident(statm: &str) -> Option<u64> {
    let s = std::fs::read_to_string(statm).ok()?;
    let pages: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// The cores of the machine (as the scheduler lets this process use them).
pub fn cores() -> f64 {
    std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64)
}

/// CPU use between two readings: of this process, or of the node with its stream
/// processes ([`CpuMeter::start_tree`]).
#[derive(Debug, Clone, Copy)]
pub struct CpuMeter {
    at: Instant,
    ticks: Option<u64>,
    tree: bool,
}

impl Default for CpuMeter {
    fn default() -> Self {
        Self::start()
    }
}

impl CpuMeter {
    /// Starts measuring this process from now.
    pub fn start() -> Self {
        CpuMeter {
            at: Instant::now(),
            ticks: process_cpu_ticks(),
            tree: false,
        }
    }

    /// Starts measuring this process and its children from now.
    pub fn start_tree() -> Self {
        CpuMeter {
            at: Instant::now(),
            ticks: tree_cpu_ticks(),
            tree: true,
        }
    }

    /// Cores busy since the last reading (1.0 = one core), and starts the next interval;
    /// `None` where `/proc` cannot be read.
    pub fn sample(&mut self) -> Option<f64> {
        let next = if self.tree {
            CpuMeter::start_tree()
        } else {
            CpuMeter::start()
        };
        let busy = self.busy_until(&next);
        *self = next;
        busy
    }

    /// Cores busy between this reading and `later`.
    pub fn busy_until(&self, later: &CpuMeter) -> Option<f64> {
        let secs = later.at.duration_since(self.at).as_secs_f64().max(1e-3);
        let ticks = later.ticks?.saturating_sub(self.ticks?);
        Some(ticks as f64 / CLOCK_TICKS_PER_SEC / secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cpu_ticks_past_odd_command_names() {
        let stat = "42 (a b) c) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        assert_eq!(parse_cpu_ticks(stat), Some(300));
        assert!(process_cpu_ticks().is_some());
        assert!(resident_bytes() > 0);
        let me = std::process::id();
        assert!(resident_bytes_of(me).is_some_and(|b| b > 0));
        assert!(cpu_ticks_of(me).is_some());
        assert!(
            resident_bytes_of(u32::MAX - 1).is_none(),
            "a gone process has none"
        );
        assert!(CpuMeter::start().sample().is_some());
    }

    #[test]
    fn the_tree_counts_a_busy_child() {
        let stat = "42 (x) S 7 2 3 4 5 6 7 8 9 10 250 50 30 12 20 0 1 0";
        assert_eq!(parse_parent(stat), Some(7));
        assert_eq!(parse_reaped_ticks(stat), Some(42));
        let before = tree_cpu_ticks().expect("readable");
        // A child that spins for about 0.3 s of CPU, still running when it is measured.
        let mut child = std::process::Command::new("sh")
            .args([
                "-c",
                "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 5",
            ])
            .spawn()
            .expect("sh runs");
        let pid = child.id();
        let t0 = Instant::now();
        while cpu_ticks_of(pid).unwrap_or(0) < 10 && t0.elapsed().as_secs() < 20 {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let child_ticks = cpu_ticks_of(pid).unwrap_or(0);
        let after = tree_cpu_ticks().expect("readable");
        let _ = child.kill();
        let _ = child.wait();
        assert!(child_ticks >= 10, "the child never got busy");
        assert!(
            after >= before + child_ticks,
            "{after} < {before} + {child_ticks}"
        );
    }
}
