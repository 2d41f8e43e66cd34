//! `render-node` binary entry point.
//!
//! `render-node render …` renders a scene file standalone (see `render-node/README.md`).
//! `render-node serve` (or no argument) joins the fleet: see [`render_node::fleet`].

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use render_node::cli;

fn main() -> ExitCode {
    shared::telemetry::init("render-node");
    let ran = run();
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

fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("render") => {
            let parsed = cli::parse_render(&args[1..])?;
            let summary = cli::run_render(&parsed)?;
            let r = &summary.report;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "rendered frames={} seconds={:.2} fps={:.1} live_fps={:.2} dropped={} avg_compose_ms={:.2} encoder_latency_ms={:.1} output_latency_ms={:.1} cpu={:.0}% rss_mb={:.0}",
                summary.frames,
                summary.seconds,
                summary.fps(),
                summary.live_fps(),
                r.dropped_frames,
                r.average_render_time,
                r.encoder_latency_ms,
                r.output_latency_ms,
                summary.cpu_percent,
                r.memory_usage as f64 / 1_048_576.0,
            )
            .context("writing the summary")?;
            Ok(())
        }
        None | Some("serve") => serve(),
        _ => anyhow::bail!(
            "{}\n   or: render-node [serve]   (join the fleet; settings from the environment)",
            cli::USAGE
        ),
    }
}

fn usage() -> String {
    format!(
        "{}\n   or: render-node [serve]   (join the fleet; settings from the environment)",
        cli::USAGE
    )
}

fn serve() -> anyhow::Result<()> {
    let cfg = render_node::fleet::NodeConfig::from_env()
        .map_err(|e| anyhow::anyhow!("{e}\n{}", usage()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let ingest = render_node::ingest::Ingest::new(&cfg, runtime.handle().clone())?;
    let engine = render_node::Engine::new(render_node::EngineConfig {
        node_id: cfg.node_id.clone(),
        policy: Some(cfg.media.clone()),
        asset_base: Some(cfg.primary_control_plane().to_owned()),
        asset_key: Some(cfg.node_secret.clone()),
        feeds: ingest.feeds(),
        ..Default::default()
    })?;
    runtime.block_on(async {
        let token = shared::shutdown::on_signal();
        let node = render_node::fleet::worker::Node::new(cfg, engine, ingest)?;
        render_node::fleet::run(node, token).await
    })
}
