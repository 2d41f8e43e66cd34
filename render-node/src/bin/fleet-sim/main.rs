//! `fleet-sim`: the fleet load harness (`scripts/bench-fleet.sh` runs it). `nodes` runs many
//! real fleet nodes in one process on the simulated engine; `drive` creates tenants and
//! streams on real control planes, starts them in a burst, runs an API workload, kills one
//! node process abruptly and prints `FIGURE` lines for what it measured.
//!
//! - [`nodes`]: the simulated nodes.
//! - [`drive`]: setup, the burst, the steady phase and the figures.
//! - [`api`]: the tenant API client the driver uses.
//! - [`workload`]: the API workload of the steady phase.
//! - [`watch`]: where every stream is live, read from the nodes' Redis reports.
//! - [`account`]: the final accounting (live, held once).

mod account;
mod api;
mod drive;
mod nodes;
mod watch;
mod workload;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Stream Manager's fleet load harness.
#[derive(Parser)]
#[command(name = "fleet-sim")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run simulated fleet nodes (settings from the environment, as `render-node serve`)
    Nodes(nodes::NodesArgs),
    /// Drive the control planes and print FIGURE lines
    Drive(drive::DriveArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    shared::telemetry::init("fleet-sim", &render_node::LOG_TABLE);
    let ran = match cli.command {
        Command::Nodes(args) => nodes::run(args),
        Command::Drive(args) => drive::run(args),
    };
    shared::telemetry::shutdown();
    match ran {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "fleet-sim failed");
            ExitCode::FAILURE
        }
    }
}

/// Prints one `FIGURE name=value unit` line (what scripts/bench-report.sh reads).
fn figure(name: &str, value: impl std::fmt::Display, unit: &str) {
    let _ = writeln!(std::io::stdout().lock(), "FIGURE {name}={value} {unit}");
}
