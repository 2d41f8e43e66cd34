//! Admission: whether the node takes another start job, from its free slots, the CPU its
//! streams are measured to cost, and its memory (see [`crate::system::memory`] for what
//! memory in use means).
//!
//! CPU is judged by prediction, not by the present: a node at 150 % of two cores admitting a
//! stream that costs 40 % would run at 190 % and every stream on it would drop frames, so
//! overload would hurt all tenants at once. The next stream is expected to cost what the
//! running ones cost on average (measured over the last tick), or the operator's prior
//! (`NODE_STREAM_CPU_PERCENT`) before any runs; streams still starting are counted at that
//! cost too, since their CPU is not in the measurement yet. `NODE_CAPACITY` is only a
//! ceiling: the node fills up to what its cores really hold.

use crate::links::config::Limits;
use crate::system::memory::MemoryUse;

/// What the node measures about itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    /// Streams running (their CPU is in `cpu_percent`).
    pub running: usize,
    /// Streams being started (their CPU is not measured yet).
    pub starting: usize,
    pub draining: bool,
    /// CPU used by the node (its streams included), in percent of one core.
    pub cpu_percent: f64,
    /// Cores of the machine.
    pub cores: f64,
    pub memory: Option<MemoryUse>,
}

impl Load {
    /// Streams running or being started.
    pub fn busy(&self) -> usize {
        self.running + self.starting
    }
}

/// Why the node takes no job right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// SIGTERM: the node is handing its streams away.
    Draining,
    /// `NODE_CAPACITY` streams run already.
    Full,
    /// One more stream would take the CPU above `NODE_MAX_CPU_PERCENT`.
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

/// What one more stream is expected to cost, in percent of one core.
pub fn stream_cost(limits: &Limits, load: &Load) -> f64 {
    if load.running == 0 {
        return limits.stream_cpu_percent;
    }
    // A near-idle measurement (streams of a static scene) must not predict room for
    // hundreds: no stream is expected to cost less than one percent of a core.
    (load.cpu_percent / load.running as f64).max(1.0)
}

/// How many more streams the node can take: the slots under `NODE_CAPACITY` that the CPU
/// budget also covers (what operators scale the fleet on).
pub fn free_slots(limits: &Limits, load: &Load) -> usize {
    if load.draining {
        return 0;
    }
    let by_count = limits.capacity.saturating_sub(load.busy());
    let cost = stream_cost(limits, load);
    let budget =
        limits.max_cpu_percent * load.cores - load.cpu_percent - cost * load.starting as f64;
    let by_cpu = if budget > 0.0 {
        (budget / cost).floor() as usize
    } else {
        0
    };
    by_count.min(by_cpu)
}

/// Whether a node under `load` takes another job; the first reason it does not.
pub fn admit(limits: &Limits, load: &Load) -> Result<(), Refusal> {
    if load.draining {
        return Err(Refusal::Draining);
    }
    if load.busy() >= limits.capacity {
        return Err(Refusal::Full);
    }
    if free_slots(limits, load) == 0 {
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
            stream_cpu_percent: 50.0,
        }
    }

    fn idle() -> Load {
        Load {
            running: 0,
            starting: 0,
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
        let full = Load {
            running: 2,
            cpu_percent: 20.0,
            ..idle()
        };
        assert_eq!(admit(&limits(), &full), Err(Refusal::Full));
        // 90 % of two cores is 180 % of one.
        let hot = Load {
            cpu_percent: 185.0,
            ..idle()
        };
        assert_eq!(admit(&limits(), &hot), Err(Refusal::Cpu));
        // 150 % with nothing measured yet: the prior (50 %) would take it to 200 %.
        let warm = Load {
            cpu_percent: 150.0,
            ..idle()
        };
        assert_eq!(admit(&limits(), &warm), Err(Refusal::Cpu));
        let warm = Load {
            cpu_percent: 120.0,
            ..idle()
        };
        assert_eq!(admit(&limits(), &warm), Ok(()));
        let draining = Load {
            draining: true,
            running: 2,
            ..idle()
        };
        assert_eq!(admit(&limits(), &draining), Err(Refusal::Draining));
    }

    #[test]
    fn the_eighth_stream_that_would_overload_the_cores_is_queued_not_admitted() {
        // Seven 720p30 streams measured at 24 % of a core each on two cores: an eighth would
        // take the node to 192 %, over 90 % of two cores (180 %).
        let limits = Limits {
            capacity: 64,
            ..limits()
        };
        let seven = Load {
            running: 7,
            cpu_percent: 7.0 * 24.0,
            ..idle()
        };
        assert_eq!(stream_cost(&limits, &seven), 24.0);
        assert_eq!(free_slots(&limits, &seven), 0);
        assert_eq!(admit(&limits, &seven), Err(Refusal::Cpu));
        let six = Load {
            running: 6,
            cpu_percent: 6.0 * 24.0,
            ..idle()
        };
        assert_eq!(free_slots(&limits, &six), 1);
        assert_eq!(admit(&limits, &six), Ok(()));
    }

    #[test]
    fn streams_still_starting_count_at_the_expected_cost() {
        let limits = Limits {
            capacity: 64,
            ..limits()
        };
        // Nothing measured: the prior, 50 %: three starts fit in 180 %, not four.
        let three_starting = Load {
            starting: 3,
            ..idle()
        };
        assert_eq!(free_slots(&limits, &three_starting), 0);
        assert_eq!(admit(&limits, &three_starting), Err(Refusal::Cpu));
        let two_starting = Load {
            starting: 2,
            cpu_percent: 0.0,
            ..idle()
        };
        assert_eq!(free_slots(&limits, &two_starting), 1);
    }

    #[test]
    fn cheap_streams_fill_the_node_up_to_its_capacity_ceiling() {
        let limits = Limits {
            capacity: 8,
            ..limits()
        };
        let cheap = Load {
            running: 2,
            cpu_percent: 10.0,
            ..idle()
        };
        assert_eq!(free_slots(&limits, &cheap), 6);
        let draining = Load {
            draining: true,
            ..cheap
        };
        assert_eq!(free_slots(&limits, &draining), 0);
    }
}
