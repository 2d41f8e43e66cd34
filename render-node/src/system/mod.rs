//! What the node reads about the machine and its own process: the one place that knows
//! `/proc`, cgroup files and the wall clock.
//!
//! - [`process`]: this process's CPU time and resident memory.
//! - [`memory`]: memory in use against the container's limit or the machine's total.
//! - [`clock`]: wall-clock time as the wire formats carry it.

pub mod clock;
pub mod memory;
pub mod process;

pub use clock::unix_ms;
