//! `render-node` binary entry point.
//!
//! `render-node render …` renders a scene file standalone (see `render-node/README.md`).
//! `render-node serve` (or no command) joins the fleet, with settings from the environment:
//! see [`render_node::fleet`]. `render-node stream-child` (hidden) is one stream's own
//! process, which such a node starts: see [`render_node::isolation`].

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use render_node::isolation::child::ChildArgs;
use render_node::links::NodeConfig;
use render_node::standalone::{self, RenderArgs};

/// Stream Manager's render node.
#[derive(Parser)]
#[command(name = "render-node")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Render a scene file with no control plane, and print a summary line
    Render(RenderArgs),
    /// Join the fleet (the default; settings from the environment, see the README)
    Serve,
    /// One stream's own process, started by a fleet node (`STREAM_ISOLATION=process`)
    #[command(hide = true)]
    StreamChild(ChildArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help asked for is a success; a bad command line, like any failure, is 1.
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    shared::telemetry::init("render-node", &render_node::LOG_TABLE);
    let ran = match cli.command {
        Some(Command::Render(args)) => render(&args),
        None | Some(Command::Serve) => serve(),
        Some(Command::StreamChild(args)) => render_node::isolation::child::run(&args),
    };
    // After SIGTERM's drain (or a standalone render): buffered spans go out before we exit.
    shared::telemetry::shutdown();
    match ran {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The error chain only: a backtrace means nothing to someone with a bad scene file.
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn render(args: &RenderArgs) -> anyhow::Result<()> {
    let summary = standalone::run_render(args)?;
    writeln!(std::io::stdout().lock(), "{summary}")?;
    Ok(())
}

fn serve() -> anyhow::Result<()> {
    let cfg = NodeConfig::from_env()
        .map_err(|e| anyhow::anyhow!("{e}\n\n{}", Cli::command().render_help()))?;
    render_node::fleet::serve(cfg)
}
