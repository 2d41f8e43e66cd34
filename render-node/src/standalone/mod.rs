//! The standalone app: `render-node render` renders a scene file with no control plane,
//! for local use and benchmarks.
//!
//! - [`cli`]: the command's arguments and the run with its summary.
//! - [`scene_file`]: the forgiving scene file it reads.

pub mod cli;
pub mod scene_file;

pub use cli::{RenderArgs, RunSummary, run_render};
