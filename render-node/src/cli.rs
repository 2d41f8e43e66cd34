//! The standalone command: `render-node render --scene scene.json --out URL|FILE|null …`.
//!
//! Renders a scene file (see [`crate::scene_file`]) with no control plane, for local use and
//! benchmarks, and prints a one-line summary.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use shared::status::{LiveReport, OutputState};
use shared::stream_config::{Bitrate, Resolution};

use crate::engine::{Engine, EngineConfig, StreamOptions};
use crate::error::RenderError;
use crate::metrics::{CLOCK_TICKS_PER_SEC, process_cpu_ticks};
use crate::output::OutputTarget;
use crate::output::retry::RetryPolicy;
use crate::pipeline::Stage;
use crate::scene_file::{self, SceneFileError};

/// Usage text.
pub const USAGE: &str = "\
usage: render-node render --scene FILE --out DEST [--out DEST…] [options]

  --scene FILE        scene JSON (see render-node/README.md)
  --out DEST          rtmp://… or rtmps://… URL, an .flv file path, or `null`
  --seconds N         stop after N seconds of output (default 10)
  --frames N          stop after N frames (overrides --seconds)
  --fast              render as fast as possible instead of in real time
  --composite-only    skip encoding (benchmarks the compositor alone)
  --resolution WxH    override STREAM_RESOLUTION
  --fps N             override TARGET_FPS
  --bitrate RATE      override STREAM_BITRATE (e.g. 4500k)
  --quality N         override RENDER_QUALITY (1..9: ultrafast..veryslow)";

/// A parsed `render` command.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderArgs {
    pub scene: PathBuf,
    pub outputs: Vec<String>,
    pub seconds: f64,
    pub frames: Option<u64>,
    pub fast: bool,
    pub composite_only: bool,
    pub resolution: Option<Resolution>,
    pub fps: Option<u32>,
    pub bitrate: Option<Bitrate>,
    pub quality: Option<u32>,
}

/// What went wrong running the command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}\n\n{USAGE}")]
    Usage(String),
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

/// Parses the arguments after `render`.
pub fn parse_render(args: &[String]) -> Result<RenderArgs, CliError> {
    let mut a = RenderArgs {
        scene: PathBuf::new(),
        outputs: Vec::new(),
        seconds: 10.0,
        frames: None,
        fast: false,
        composite_only: false,
        resolution: None,
        fps: None,
        bitrate: None,
        quality: None,
    };
    let mut it = args.iter();
    let usage = |m: String| CliError::Usage(m);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| usage(format!("{name} needs a value")))
        };
        match flag.as_str() {
            "--scene" => a.scene = PathBuf::from(value("--scene")?),
            "--out" => a.outputs.push(value("--out")?),
            "--seconds" => {
                let v = value("--seconds")?;
                a.seconds = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| {
                        usage(format!("--seconds must be a positive number, got {v:?}"))
                    })?;
            }
            "--frames" => {
                let v = value("--frames")?;
                a.frames = Some(v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    usage(format!("--frames must be a positive integer, got {v:?}"))
                })?);
            }
            "--fast" => a.fast = true,
            "--composite-only" => a.composite_only = true,
            "--resolution" => {
                let v = value("--resolution")?;
                a.resolution = Some(v.parse().map_err(|e| usage(format!("--resolution {e}")))?);
            }
            "--fps" => {
                let v = value("--fps")?;
                a.fps = Some(
                    v.parse()
                        .ok()
                        .filter(|n| (1..=60).contains(n))
                        .ok_or_else(|| usage(format!("--fps must be 1..60, got {v:?}")))?,
                );
            }
            "--bitrate" => {
                let v = value("--bitrate")?;
                a.bitrate = Some(v.parse().map_err(|e| usage(format!("--bitrate {e}")))?);
            }
            "--quality" => {
                let v = value("--quality")?;
                a.quality = Some(
                    v.parse()
                        .ok()
                        .filter(|n| (1..=9).contains(n))
                        .ok_or_else(|| usage(format!("--quality must be 1..9, got {v:?}")))?,
                );
            }
            other => return Err(usage(format!("unknown argument {other:?}"))),
        }
    }
    if a.scene.as_os_str().is_empty() {
        return Err(usage("--scene is required".into()));
    }
    if a.outputs.is_empty() && !a.composite_only {
        return Err(usage("at least one --out is required".into()));
    }
    Ok(a)
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

/// Runs the command to the end.
pub fn run_render(args: &RenderArgs) -> Result<RunSummary, CliError> {
    let started = Instant::now();
    let cpu_start = process_cpu_ticks();
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
        retry: RetryPolicy {
            first: Duration::from_millis(500),
            max: Duration::from_secs(2),
            max_attempts: 3,
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
        },
    )?;
    // The first frame's time, watched beside the wait, separates start-up from rendering.
    let done = AtomicBool::new(false);
    let stats = handle.frame_stats();
    let (report, first_frame) = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            let stats = stats?;
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
    let cpu_percent = match (cpu_start, process_cpu_ticks()) {
        (Some(a), Some(b)) => {
            b.saturating_sub(a) as f64 / CLOCK_TICKS_PER_SEC / seconds.max(1e-9) * 100.0
        }
        _ => 0.0,
    };
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
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_flags_and_refuses_nonsense() {
        let a = parse_render(&args(
            "--scene s.json --out a.flv --out rtmp://h/l/k --seconds 2 --fast",
        ))
        .unwrap();
        assert_eq!(a.outputs.len(), 2);
        assert!(a.fast);
        assert_eq!(a.seconds, 2.0);
        for bad in [
            "--out a.flv",
            "--scene s.json",
            "--scene s.json --out a.flv --seconds -1",
            "--scene s.json --out a.flv --bogus",
            "--scene s.json --out",
            "--scene s.json --out a.flv --resolution 12x3",
        ] {
            assert!(
                matches!(parse_render(&args(bad)), Err(CliError::Usage(_))),
                "{bad}"
            );
        }
    }
}
