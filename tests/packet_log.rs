//! An RTMP receiver that logs every packet as it arrives: `ffprobe -listen 1` printing one
//! line per demuxed packet (its kind and pts), each stamped here with the wall-clock time it
//! was read. ffprobe, not ffmpeg: ffmpeg's muxer holds packets back to interleave them by
//! timestamp, which would make audio arrive exactly when the video of the same time does and
//! hide any offset between them. From the log: the audio/video offset against wall time, its
//! drift, and the longest silence.

use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::nodes::free_port;

/// Which elementary stream a packet belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Track {
    Video,
    Audio,
}

/// One packet: when it was read (since the first packet), its track and its pts in ms.
#[derive(Debug, Clone, Copy)]
pub struct Packet {
    pub wall_ms: f64,
    pub track: Track,
    pub pts_ms: f64,
}

/// A listening receiver and the packets it logged so far.
pub struct PacketLog {
    pub url: String,
    packets: Arc<Mutex<Vec<Packet>>>,
    /// When the first packet was read: packets' `wall_ms` count from here.
    first: Arc<OnceLock<Instant>>,
    child: Child,
}

impl Drop for PacketLog {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Reads ffprobe's `codec_type,pts_time` packet lines (`video,12.345000`).
fn parse_line(line: &str) -> Option<(Track, f64)> {
    let (kind, pts) = line.trim().split_once(',')?;
    let track = match kind {
        "video" => Track::Video,
        "audio" => Track::Audio,
        _ => return None,
    };
    Some((track, pts.parse::<f64>().ok()? * 1000.0))
}

impl PacketLog {
    /// Listens on a free port for one RTMP publish.
    pub fn start(name: &str) -> PacketLog {
        let port = free_port();
        Self::listen(&format!("rtmp://127.0.0.1:{port}/live/{name}"))
    }

    /// Listens again where `self` listened (after its one publish ended), with a new log.
    pub fn relisten(mut self) -> PacketLog {
        let url = self.url.clone();
        let _ = self.child.start_kill();
        // Gone (its port free) before the new one binds it.
        let deadline = Instant::now() + Duration::from_secs(2);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        drop(self);
        Self::listen(&url)
    }

    /// Listens at `url` for one RTMP publish.
    pub fn listen(url: &str) -> PacketLog {
        let url = url.to_owned();
        // stdbuf: ffprobe's stdout to a pipe is block-buffered; each line must come when its
        // packet does.
        let mut child = Command::new("stdbuf")
            .args([
                "-oL",
                "ffprobe",
                "-v",
                "error",
                "-listen",
                "1",
                "-show_entries",
                "packet=codec_type,pts_time",
                "-of",
                "csv=p=0",
                &url,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("ffprobe starts (install ffmpeg with scripts/install-deps.sh)");
        let stdout = child.stdout.take().expect("piped stdout");
        let packets = Arc::new(Mutex::new(Vec::new()));
        let sink = packets.clone();
        let first = Arc::new(OnceLock::new());
        let first_seen = first.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some((track, pts_ms)) = parse_line(&line) {
                    let t0 = *first_seen.get_or_init(Instant::now);
                    let wall_ms = t0.elapsed().as_secs_f64() * 1000.0;
                    sink.lock().unwrap().push(Packet {
                        wall_ms,
                        track,
                        pts_ms,
                    });
                }
            }
        });
        PacketLog {
            url,
            packets,
            first,
            child,
        }
    }

    /// The packets logged so far.
    pub fn packets(&self) -> Vec<Packet> {
        self.packets.lock().unwrap().clone()
    }

    /// Packets logged so far.
    pub fn count(&self) -> usize {
        self.packets.lock().unwrap().len()
    }

    /// The longest wall-clock stretch without a video packet from the packet before index
    /// `from` until now (a stream that stopped arriving counts up to now).
    pub fn longest_video_gap(&self, from: usize) -> Duration {
        let Some(first) = self.first.get() else {
            return Duration::MAX;
        };
        let now_ms = first.elapsed().as_secs_f64() * 1000.0;
        let packets = self.packets();
        let start = from.saturating_sub(1).min(packets.len());
        let mut times: Vec<f64> = packets[start..]
            .iter()
            .filter(|p| p.track == Track::Video)
            .map(|p| p.wall_ms)
            .collect();
        times.push(now_ms);
        let worst = times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
        Duration::from_secs_f64(worst / 1000.0)
    }
}

/// What the packet log says about timing.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Audio offset minus video offset (pts against wall time) over the last window, in ms:
    /// how far audio runs ahead of video at the receiver at the end.
    pub av_offset_end_ms: f64,
    /// The same over the first window after warm-up.
    pub av_offset_start_ms: f64,
    /// How much video's pts moved against wall time between the two windows, in ms.
    pub video_drift_ms: f64,
    /// How much audio's pts moved against wall time between the two windows, in ms.
    pub audio_drift_ms: f64,
    /// The last audio pts minus the last video pts, in ms (coarse: one frame of each).
    pub last_pts_gap_ms: f64,
    /// Wall time from the first packet to the last.
    pub elapsed: Duration,
    /// The longest wall-clock stretch without any packet after the warm-up.
    pub longest_silence: Duration,
    /// When that stretch began, since the first packet.
    pub longest_silence_at: Duration,
}

/// The offset of `track` (pts minus arrival time) over packets arriving in `[from, to)` ms.
/// The largest offset is that of the packets that arrived with the least delay, so it does
/// not move with the receiver's read batching.
fn offset(packets: &[Packet], track: Track, from: f64, to: f64) -> Option<f64> {
    packets
        .iter()
        .filter(|p| p.track == track && p.wall_ms >= from && p.wall_ms < to)
        .map(|p| p.pts_ms - p.wall_ms)
        .reduce(f64::max)
}

/// Timing figures from `packets`, comparing a window after `warmup` with the last window.
pub fn timing(packets: &[Packet], warmup: Duration, window: Duration) -> Option<Timing> {
    let last = packets.last()?.wall_ms;
    let w = window.as_secs_f64() * 1000.0;
    let start = warmup.as_secs_f64() * 1000.0;
    let (vs, as_) = (
        offset(packets, Track::Video, start, start + w)?,
        offset(packets, Track::Audio, start, start + w)?,
    );
    let (ve, ae) = (
        offset(packets, Track::Video, last - w, last + 1.0)?,
        offset(packets, Track::Audio, last - w, last + 1.0)?,
    );
    let last_pts = |t: Track| {
        packets
            .iter()
            .rev()
            .find(|p| p.track == t)
            .map(|p| p.pts_ms)
    };
    let (silence, silence_at) = packets
        .windows(2)
        .filter(|w| w[0].wall_ms >= start)
        .map(|w| (w[1].wall_ms - w[0].wall_ms, w[0].wall_ms))
        .fold((0.0, start), |a, b| if b.0 > a.0 { b } else { a });
    Some(Timing {
        av_offset_end_ms: ae - ve,
        av_offset_start_ms: as_ - vs,
        video_drift_ms: ve - vs,
        audio_drift_ms: ae - as_,
        last_pts_gap_ms: last_pts(Track::Audio)? - last_pts(Track::Video)?,
        elapsed: Duration::from_secs_f64(last / 1000.0),
        longest_silence: Duration::from_secs_f64(silence / 1000.0),
        longest_silence_at: Duration::from_secs_f64(silence_at / 1000.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ffprobe_packet_lines() {
        assert_eq!(parse_line("video,0.066000"), Some((Track::Video, 66.0)));
        assert_eq!(parse_line("audio,1.000000\n"), Some((Track::Audio, 1000.0)));
        assert_eq!(parse_line("data,1.0"), None);
        assert_eq!(parse_line("video,N/A"), None);
        assert_eq!(parse_line("garbage"), None);
    }

    #[test]
    fn timing_sees_audio_running_ahead_and_drifting() {
        // Video on time; audio 50 ms ahead at first, 10 ms more ahead every second.
        let mut packets = Vec::new();
        for i in 0..600 {
            let t = f64::from(i) * 33.0;
            packets.push(Packet {
                wall_ms: t,
                track: Track::Video,
                pts_ms: t,
            });
            let drift = 50.0 + t / 100.0;
            packets.push(Packet {
                wall_ms: t,
                track: Track::Audio,
                pts_ms: t + drift,
            });
        }
        let t = timing(&packets, Duration::from_secs(1), Duration::from_secs(1)).unwrap();
        assert!((t.av_offset_start_ms - 69.8).abs() < 0.5, "{t:?}");
        assert!((t.av_offset_end_ms - 247.67).abs() < 0.5, "{t:?}");
        assert!(t.video_drift_ms.abs() < 1e-9);
        assert!(t.longest_silence < Duration::from_millis(40));
    }
}
