//! A fleet node's settings (see the operator contract in the README). Credentials (the node
//! secret, and the broker's and Redis's URLs, which may carry passwords) are held as secrets:
//! never printed by `Debug`, zeroed when dropped.

use std::net::SocketAddr;

use secrecy::SecretString;
use shared::env::{self, EnvError};
use shared::media_url::MediaPolicy;

/// The operator's limits (`NODE_CAPACITY`, `NODE_MAX_CPU_PERCENT`, `NODE_MAX_MEMORY_*`,
/// `NODE_STREAM_CPU_PERCENT`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Streams the node may run at once, at most: a ceiling; the CPU the streams are
    /// measured to cost decides how many it really takes.
    pub capacity: usize,
    /// Percent of the machine's CPU (all cores) above which no job is taken.
    pub max_cpu_percent: f64,
    /// Percent of the memory limit above which no job is taken.
    pub max_memory_percent: f64,
    /// Bytes in use above which no job is taken, whatever the percentage.
    pub max_memory_bytes: Option<u64>,
    /// What a stream is expected to cost, in percent of one core, before the node has
    /// measured its own.
    pub stream_cpu_percent: f64,
}

/// `NODE_CAPACITY` when unset: a ceiling high enough that the measured CPU decides.
pub const DEFAULT_CAPACITY: usize = 32;

/// `NODE_STREAM_CPU_PERCENT` when unset: a 720p30 production scene costs about a quarter of
/// a core here, a 1080p30 one about a core; half a core keeps the first starts on an empty
/// node from overshooting before anything is measured.
pub const DEFAULT_STREAM_CPU_PERCENT: f64 = 50.0;

/// Everything a fleet node needs.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub node_id: String,
    pub amqp_url: SecretString,
    pub redis_url: SecretString,
    /// Control-plane replicas, in order of preference (`CONTROL_PLANE_URL`, comma separated):
    /// the node talks to one and moves to the next when it stops answering.
    pub control_plane_urls: Vec<String>,
    /// Shared secret for the control plane's internal API.
    pub node_secret: SecretString,
    /// Prefix of queues and Redis keys; must match the control plane's.
    pub namespace: String,
    pub metrics_addr: SocketAddr,
    /// `METRICS_TOKEN`: the bearer token a scraper presents to see the per-stream series
    /// (they name stream ids, which are the tenants'); without it `/metrics` shows the
    /// node-wide series only.
    pub metrics_token: Option<SecretString>,
    /// How the control plane reaches `metrics_addr` (for previews): `NODE_ADVERTISE_ADDR`,
    /// else `metrics_addr` itself, or this host's name when that is a wildcard address.
    pub advertise_addr: String,
    pub rtsp_addr: SocketAddr,
    /// Where encoders publish (`INGEST_ADDR`); `off` runs the node without ingest.
    pub ingest_addr: Option<SocketAddr>,
    /// Where SRT publishers call (`SRT_ADDR`, UDP); unset or `off` runs without SRT.
    pub srt_addr: Option<SocketAddr>,
    /// The SRT receive latency the node offers (`SRT_LATENCY_MS`, default 120 ms, libsrt's):
    /// a publisher asking more gets more.
    pub srt_latency: std::time::Duration,
    pub media: MediaPolicy,
    /// Admission: slots, CPU and memory limits.
    pub limits: Limits,
    /// Bytes of pictures one stream may hold (`STREAM_MEMORY_BUDGET_BYTES`, default 1 GiB;
    /// 0 turns it off): past it the stream fails and the node's others go on.
    pub stream_memory_budget: Option<u64>,
}

/// A percentage setting: above 0, at most 100.
fn percent(name: &'static str, default: f64) -> Result<f64, EnvError> {
    let v: f64 = env::parse_or(name, default)?;
    if v > 0.0 && v <= 100.0 {
        Ok(v)
    } else {
        Err(EnvError::Invalid {
            name,
            value: v.to_string(),
            reason: "must be a percentage above 0 and at most 100".into(),
        })
    }
}

/// `NODE_STREAM_CPU_PERCENT`: percent of one core, so above 100 is allowed (a 4K stream).
fn stream_cpu_percent() -> Result<f64, EnvError> {
    const NAME: &str = "NODE_STREAM_CPU_PERCENT";
    let v: f64 = env::parse_or(NAME, DEFAULT_STREAM_CPU_PERCENT)?;
    if v.is_finite() && v >= 1.0 {
        Ok(v)
    } else {
        Err(EnvError::Invalid {
            name: NAME,
            value: v.to_string(),
            reason: "must be a percentage of one core, at least 1".into(),
        })
    }
}

/// An optional size in bytes.
fn bytes(name: &'static str) -> Result<Option<u64>, EnvError> {
    env::optional(name)
        .map(|v| {
            v.parse::<u64>().map_err(|e| EnvError::Invalid {
                name,
                reason: e.to_string(),
                value: v,
            })
        })
        .transpose()
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "render-node".to_owned())
}

/// Reads `CONTROL_PLANE_URL`: one base URL or several separated by commas.
fn control_plane_urls(raw: &str) -> Result<Vec<String>, EnvError> {
    let urls: Vec<String> = raw
        .split(',')
        .map(|u| u.trim().trim_end_matches('/'))
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect();
    for u in &urls {
        reqwest::Url::parse(u).map_err(|e| EnvError::Invalid {
            name: "CONTROL_PLANE_URL",
            value: u.clone(),
            reason: e.to_string(),
        })?;
    }
    if urls.is_empty() {
        return Err(EnvError::Invalid {
            name: "CONTROL_PLANE_URL",
            value: raw.to_owned(),
            reason: "names no URL".into(),
        });
    }
    Ok(urls)
}

impl NodeConfig {
    /// How others reach the RTSP preview: `RTSP_ADDR` itself when it names an address, else
    /// the advertised host with its port.
    pub fn rtsp_advertise_addr(&self) -> String {
        if !self.rtsp_addr.ip().is_unspecified() {
            return self.rtsp_addr.to_string();
        }
        let host = self
            .advertise_addr
            .rsplit_once(':')
            .map_or(self.advertise_addr.as_str(), |(h, _)| h);
        format!("{host}:{}", self.rtsp_addr.port())
    }

    /// Reads the settings; `NODE_SECRET` is required.
    pub fn from_env() -> Result<Self, EnvError> {
        let metrics_addr: SocketAddr =
            env::parse_or("METRICS_ADDR", SocketAddr::from(([127, 0, 0, 1], 9091)))?;
        let advertise_addr = env::optional("NODE_ADVERTISE_ADDR").unwrap_or_else(|| {
            if metrics_addr.ip().is_unspecified() {
                format!("{}:{}", hostname(), metrics_addr.port())
            } else {
                metrics_addr.to_string()
            }
        });
        Ok(NodeConfig {
            node_id: env::optional("NODE_ID").unwrap_or_else(hostname),
            amqp_url: env::or("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f").into(),
            redis_url: env::or("REDIS_URL", "redis://127.0.0.1:6379").into(),
            control_plane_urls: control_plane_urls(&env::or(
                "CONTROL_PLANE_URL",
                "http://127.0.0.1:8080",
            ))?,
            node_secret: env::required("NODE_SECRET")?.into(),
            namespace: env::or("SM_NAMESPACE", ""),
            metrics_addr,
            metrics_token: env::optional("METRICS_TOKEN").map(SecretString::from),
            advertise_addr,
            rtsp_addr: env::parse_or("RTSP_ADDR", SocketAddr::from(([127, 0, 0, 1], 8554)))?,
            ingest_addr: match env::optional("INGEST_ADDR").as_deref() {
                Some("off") => None,
                _ => Some(env::parse_or(
                    "INGEST_ADDR",
                    SocketAddr::from(([127, 0, 0, 1], 1935)),
                )?),
            },
            srt_addr: match env::optional("SRT_ADDR").as_deref() {
                None | Some("off") => None,
                Some(_) => Some(env::parse_or(
                    "SRT_ADDR",
                    SocketAddr::from(([0, 0, 0, 0], 9000)),
                )?),
            },
            srt_latency: std::time::Duration::from_millis(env::parse_or("SRT_LATENCY_MS", 120)?),
            media: MediaPolicy::from_env()?,
            limits: Limits {
                capacity: env::parse_or("NODE_CAPACITY", DEFAULT_CAPACITY)?,
                max_cpu_percent: percent("NODE_MAX_CPU_PERCENT", 90.0)?,
                max_memory_percent: percent("NODE_MAX_MEMORY_PERCENT", 90.0)?,
                max_memory_bytes: bytes("NODE_MAX_MEMORY_BYTES")?,
                stream_cpu_percent: stream_cpu_percent()?,
            },
            stream_memory_budget: match env::parse_or("STREAM_MEMORY_BUDGET_BYTES", 1u64 << 30)? {
                0 => None,
                b => Some(b),
            },
        })
    }
}

/// Settings for a node in unit tests (nothing listens or connects until used).
#[cfg(test)]
pub(crate) fn test_config(node_id: &str) -> NodeConfig {
    NodeConfig {
        node_id: node_id.into(),
        amqp_url: "amqp://user:hunter2@mq/%2f".to_owned().into(),
        redis_url: "redis://:hunter3@redis".to_owned().into(),
        control_plane_urls: vec!["http://cp:8080".into()],
        node_secret: "hunter4".to_owned().into(),
        namespace: String::new(),
        metrics_addr: SocketAddr::from(([127, 0, 0, 1], 9091)),
        metrics_token: None,
        advertise_addr: "127.0.0.1:9091".into(),
        rtsp_addr: SocketAddr::from(([127, 0, 0, 1], 8554)),
        ingest_addr: None,
        srt_addr: None,
        srt_latency: std::time::Duration::from_millis(120),
        media: MediaPolicy::default(),
        limits: Limits {
            capacity: 2,
            max_cpu_percent: 90.0,
            max_memory_percent: 90.0,
            max_memory_bytes: None,
            stream_cpu_percent: 50.0,
        },
        stream_memory_budget: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_keeps_credentials_out() {
        let cfg = test_config("n1");
        let text = format!("{cfg:?}");
        assert!(text.contains("n1") && !text.contains("hunter"), "{text}");
    }

    #[test]
    fn the_rtsp_preview_is_advertised_on_the_nodes_host() {
        let mut cfg = test_config("n1");
        assert_eq!(cfg.rtsp_advertise_addr(), "127.0.0.1:8554");
        cfg.rtsp_addr = SocketAddr::from(([0, 0, 0, 0], 8554));
        cfg.advertise_addr = "node-7.internal:9091".into();
        assert_eq!(cfg.rtsp_advertise_addr(), "node-7.internal:8554");
    }

    #[test]
    fn control_plane_url_takes_one_or_several_replicas() {
        assert_eq!(
            control_plane_urls("http://cp:8080/").unwrap(),
            ["http://cp:8080"]
        );
        assert_eq!(
            control_plane_urls(" http://a:8080 , http://b:8080/,").unwrap(),
            ["http://a:8080", "http://b:8080"]
        );
        assert!(control_plane_urls(" , ").is_err());
        assert!(control_plane_urls("http://a:8080,not a url").is_err());
    }
}
