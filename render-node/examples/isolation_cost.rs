//! What running each stream in its own process costs: N streams of a scene, live for S
//! seconds, first in this process, then each in a `render-node stream-child` process —
//! same scene, same run — and the CPU and memory of both, per stream. Used by
//! `render-node/bench/isolation-bench.sh`, which prints the `FIGURE` lines.
//!
//! usage: isolation_cost SCENE.json STREAMS SECONDS RENDER_NODE_BIN

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use render_node::engine::StreamEngine;
use render_node::isolation::{Budget, ProcessEngine};
use render_node::standalone::scene_file;
use render_node::system::process::{
    CLOCK_TICKS_PER_SEC, cpu_ticks_of, process_cpu_ticks, resident_bytes, resident_bytes_of,
};
use render_node::{Engine, EngineConfig};
use shared::media_url::MediaPolicy;

/// CPU (% of one core) and memory (bytes) one way of running took for all its streams.
struct Use {
    cpu_percent: f64,
    rss: f64,
    pss: f64,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, scene, streams, seconds, bin] = args.as_slice() else {
        anyhow::bail!("usage: isolation_cost SCENE.json STREAMS SECONDS RENDER_NODE_BIN");
    };
    let streams: u128 = streams.parse().context("STREAMS")?;
    let seconds: u64 = seconds.parse().context("SECONDS")?;
    let mut spec = scene_file::load(&PathBuf::from(scene))?;
    spec.config.outputs.clear();
    let specs: Vec<_> = (1..=streams)
        .map(|i| {
            let mut s = spec.clone();
            s.stream_id = uuid::Uuid::from_u128(i);
            s
        })
        .collect();
    let engine = Engine::new(EngineConfig {
        policy: Some(MediaPolicy::from_env()?),
        ..EngineConfig::default()
    })?;
    StreamEngine::warm_up(&engine)?;
    let inproc = measure(&engine, &specs, seconds)?;
    let children = ProcessEngine::with_binary(
        engine.clone(),
        Budget {
            memory_bytes: 4 << 30,
            cpu_cores: None,
        },
        "bench".into(),
        Vec::new(),
        PathBuf::from(bin),
    );
    let isolated = measure(&children, &specs, seconds)?;
    let n = streams as f64;
    let mut out = std::io::stdout().lock();
    for (name, u) in [("inprocess", &inproc), ("process", &isolated)] {
        writeln!(
            out,
            "{name}: {streams} streams, cpu {:.1} %, rss {:.0} MB, pss {:.0} MB",
            u.cpu_percent,
            u.rss / 1e6,
            u.pss / 1e6
        )?;
        writeln!(
            out,
            "FIGURE isolation_{name}_cpu_per_stream={:.1} %",
            u.cpu_percent / n
        )?;
        writeln!(
            out,
            "FIGURE isolation_{name}_rss_per_stream={:.1} MB",
            u.rss / n / 1e6
        )?;
    }
    writeln!(
        out,
        "FIGURE isolation_cost_cpu_per_stream={:.1} %",
        (isolated.cpu_percent - inproc.cpu_percent) / n
    )?;
    writeln!(
        out,
        "FIGURE isolation_cost_rss_per_stream={:.1} MB",
        (isolated.rss - inproc.rss) / n / 1e6
    )?;
    writeln!(
        out,
        "FIGURE isolation_cost_pss_per_stream={:.1} MB",
        (isolated.pss - inproc.pss) / n / 1e6
    )?;
    Ok(())
}

/// Runs `specs` on `engine` for `seconds` (after a warm-up) and measures this process and
/// its children.
fn measure(
    engine: &dyn StreamEngine,
    specs: &[shared::spec::StreamSpec],
    seconds: u64,
) -> anyhow::Result<Use> {
    let own_before = resident_bytes() as f64;
    let own_pss_before = pss_of("self");
    let running = specs
        .iter()
        .map(|s| engine.start(s))
        .collect::<Result<Vec<_>, _>>()?;
    std::thread::sleep(Duration::from_secs(3));
    let kids = children();
    let ticks = |kids: &[u32]| {
        process_cpu_ticks().unwrap_or(0) + kids.iter().filter_map(|p| cpu_ticks_of(*p)).sum::<u64>()
    };
    let t0 = ticks(&kids);
    std::thread::sleep(Duration::from_secs(seconds));
    let t1 = ticks(&kids);
    let rss = resident_bytes() as f64 - own_before
        + kids
            .iter()
            .filter_map(|p| resident_bytes_of(*p))
            .sum::<u64>() as f64;
    let pss =
        pss_of("self") - own_pss_before + kids.iter().map(|p| pss_of(&p.to_string())).sum::<f64>();
    for r in running {
        let _ = r.stop();
    }
    Ok(Use {
        cpu_percent: (t1 - t0) as f64 / CLOCK_TICKS_PER_SEC / seconds as f64 * 100.0,
        rss,
        pss,
    })
}

/// This process's children.
fn children() -> Vec<u32> {
    let me = std::process::id().to_string();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .to_owned();
            (ppid == me).then_some(pid)
        })
        .collect()
}

/// Proportional set size in bytes (`/proc/PID/smaps_rollup`): shared library pages
/// divided among the processes mapping them.
fn pss_of(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Pss:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib * 1024.0)
}
