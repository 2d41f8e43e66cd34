//! Admission: whether the node takes another start job, from its free slots and its measured
//! CPU and memory (see [`crate::system::memory`] for what memory in use means).

use crate::links::config::Limits;
use crate::system::memory::MemoryUse;

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
}
