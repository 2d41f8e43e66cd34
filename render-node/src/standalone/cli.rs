//! The standalone command: `render-node render --scene scene.json --out URL|FILE|null …`.
//!
//! Renders a scene file (see [`super::scene_file`]) with no control plane, for local use and
//! benchmarks, and sums the run up. The arguments are declared once, with their help text,
//! for clap.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use shared::status::{LiveReport, OutputState};
use shared::stream_config::{Bitrate, Resolution};

use shared::backoff::Policy;

use super::scene_file::{self, SceneFileError};
use crate::engine::{Engine, EngineConfig, StreamOptions};
use crate::error::RenderError;
use crate::output::OutputTarget;
use crate::pipeline::Stage;
use crate::system::process::CpuMeter;

/// `render-node render`: renders a scene file standalone.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct RenderArgs {
    /// Scene JSON (see render-node/README.md)
    #[arg(long, value_name = "FILE")]
    pub scene: PathBuf,
    /// rtmp://… or rtmps://… URL, an .flv file path, or `null` (repeatable)
    #[arg(
        long = "out",
        value_name = "DEST",
        required_unless_present = "composite_only"
    )]
    pub outputs: Vec<String>,
    /// Stop after N seconds of output
    #[arg(long, value_name = "N", default_value_t = 10.0, value_parser = positive_seconds)]
    pub seconds: f64,
    /// Stop after N frames (overrides --seconds)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub frames: Option<u64>,
    /// Render as fast as possible instead of in real time
    #[arg(long)]
    pub fast: bool,
    /// Skip encoding (benchmarks the compositor alone)
    #[arg(long)]
    pub composite_only: bool,
    /// Override STREAM_RESOLUTION
    #[arg(long, value_name = "WxH")]
    pub resolution: Option<Resolution>,
    /// Override TARGET_FPS
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=60))]
    pub fps: Option<u32>,
    /// Override STREAM_BITRATE (e.g. 4500k)
    #[arg(long, value_name = "RATE")]
    pub bitrate: Option<Bitrate>,
    /// Override RENDER_QUALITY (1..9: ultrafast..veryslow)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=9))]
    pub quality: Option<u32>,
}

fn positive_seconds(v: &str) -> Result<f64, String> {
    v.parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && *s > 0.0)
        .ok_or_else(|| format!("must be a positive number, got {v:?}"))
}

/// What went wrong running the command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Scene(#[from] SceneFileError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("destination {url} {state}: {error}")]
    Output {
        url: String,
        state: String,
        error: String,
    },
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub frames: u64,
    pub seconds: f64,
    /// From the first frame out to the end: the run without start-up.
    pub live_seconds: f64,
    /// Process CPU over the whole run, percent of one core.
    pub cpu_percent: f64,
    pub report: LiveReport,
}

impl RunSummary {
    /// Frames per second over the whole run, startup included.
    pub fn fps(&self) -> f64 {
        self.frames as f64 / self.seconds.max(1e-9)
    }

    /// Frames per second once the first frame was out: whether the run kept real time.
    pub fn live_fps(&self) -> f64 {
        // The first frame opens the interval, so it is not counted in it.
        self.frames.saturating_sub(1) as f64 / self.live_seconds.max(1e-9)
    }
}

/// The one summary line the command prints.
impl std::fmt::Display for RunSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.report;
        write!(
            f,
            "rendered frames={} seconds={:.2} fps={:.1} live_fps={:.2} dropped={} avg_compose_ms={:.2} encoder_latency_ms={:.1} output_latency_ms={:.1} cpu={:.0}% rss_mb={:.0}",
            self.frames,
            self.seconds,
            self.fps(),
            self.live_fps(),
            r.dropped_frames,
            r.average_render_time,
            r.encoder_latency_ms,
            r.output_latency_ms,
            self.cpu_percent,
            r.memory_usage as f64 / 1_048_576.0,
        )
    }
}

/// Runs the command to the end.
pub fn run_render(args: &RenderArgs) -> Result<RunSummary, CliError> {
    let started = Instant::now();
    let cpu = CpuMeter::start();
    let mut spec = scene_file::load(&args.scene)?;
    if let Some(r) = args.resolution {
        spec.config.resolution = r;
    }
    if let Some(f) = args.fps {
        spec.config.target_fps = f;
    }
    if let Some(b) = args.bitrate {
        spec.config.bitrate = b;
    }
    if let Some(q) = args.quality {
        spec.config.render_quality = q;
    }
    let mut extra = Vec::new();
    spec.config.outputs.clear();
    for o in &args.outputs {
        match OutputTarget::parse(o) {
            OutputTarget::Rtmp(u) => spec.config.outputs.push(u),
            t => extra.push(t),
        }
    }
    let frames = args.frames.unwrap_or_else(|| {
        (args.seconds * f64::from(spec.config.target_fps))
            .round()
            .max(1.0) as u64
    });
    let engine = Engine::new(EngineConfig {
        // Locally a destination that does not answer is most likely a typo: fail fast.
        retry: Policy {
            first: Duration::from_millis(500),
            max: Duration::from_secs(2),
            max_attempts: Some(3),
        },
        ..EngineConfig::default()
    })?;
    let handle = engine.start(
        &spec,
        StreamOptions {
            live: !args.fast,
            max_frames: Some(frames),
            extra_outputs: extra,
            tap: false,
            stage: if args.composite_only {
                Stage::CompositeOnly
            } else {
                Stage::Encode
            },
            timestamp_offset_ms: 0,
        },
    )?;
    // The first frame's time, watched beside the wait, separates start-up from rendering.
    let done = AtomicBool::new(false);
    let stats = handle.frame_stats();
    let (report, first_frame) = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                if stats.frames.load(Ordering::Relaxed) > 0 {
                    return Some(Instant::now());
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            None
        });
        let report = handle.wait();
        done.store(true, Ordering::Relaxed);
        (report, watcher.join().ok().flatten())
    });
    let report = report?;
    if let Some(o) = report
        .outputs
        .iter()
        .find(|o| o.state == OutputState::Failed)
    {
        return Err(CliError::Output {
            url: o.url.clone(),
            state: "failed".into(),
            error: o.error.clone().unwrap_or_default(),
        });
    }
    let seconds = started.elapsed().as_secs_f64();
    let live_seconds = first_frame.map_or(seconds, |t| t.elapsed().as_secs_f64());
    let cpu_percent = cpu.busy_until(&CpuMeter::start()).unwrap_or(0.0) * 100.0;
    Ok(RunSummary {
        frames: report.frame_count,
        seconds,
        live_seconds,
        cpu_percent,
        report,
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        args: RenderArgs,
    }

    fn parse(s: &str) -> Result<RenderArgs, clap::Error> {
        Cmd::try_parse_from(std::iter::once("render").chain(s.split_whitespace())).map(|c| c.args)
    }

    #[test]
    fn parses_flags_and_refuses_nonsense() {
        let a = parse("--scene s.json --out a.flv --out rtmp://h/l/k --seconds 2 --fast").unwrap();
        assert_eq!(a.outputs.len(), 2);
        assert!(a.fast);
        assert_eq!(a.seconds, 2.0);
        assert_eq!(
            parse("--scene s.json --composite-only").unwrap().seconds,
            10.0
        );
        for bad in [
            "--out a.flv",
            "--scene s.json",
            "--scene s.json --out a.flv --seconds -1",
            "--scene s.json --out a.flv --bogus",
            "--scene s.json --out",
            "--scene s.json --out a.flv --resolution 12x3",
            "--scene s.json --out a.flv --fps 61",
            "--scene s.json --out a.flv --frames 0",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
