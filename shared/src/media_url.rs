//! Which URLs a render node may be asked to reach.
//!
//! Image URLs, video URIs and RTMP outputs are fetched by our nodes from inside our network,
//! so they are a server-side request forgery surface. Both processes read the same two
//! settings: `MEDIA_ROOT` (the only place `file://` may point) and `ALLOW_PRIVATE_MEDIA_URLS`
//! (loopback and private addresses, refused unless set). The API checks the literal URL; the
//! node checks again after name resolution, since a public name can resolve to a private
//! address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Component, Path, PathBuf};

use url::{Host, Url};

use crate::env;
use crate::validation::FieldError;

/// The operator's rules for media and output URLs.
#[derive(Debug, Clone, Default)]
pub struct MediaPolicy {
    /// The only directory `file://` URLs may point into; `None` refuses all of them.
    pub media_root: Option<PathBuf>,
    /// Lets URLs reach loopback and private networks (local stacks and tests).
    pub allow_private: bool,
}

/// Schemes a video layer may read.
const VIDEO_SCHEMES: &[&str] = &["http", "https", "file", "rtsp", "rtmp", "rtmps"];
/// Schemes a live layer may pull a stream from (no `file`: a pulled source is a network
/// stream; a file belongs in a video layer).
const PULL_SCHEMES: &[&str] = &["rtmp", "rtmps", "srt", "http", "https"];
/// Schemes an image layer may read.
const IMAGE_SCHEMES: &[&str] = &["http", "https", "file"];
/// Schemes a destination may be.
const OUTPUT_SCHEMES: &[&str] = &["rtmp", "rtmps"];

/// What a URL is used for, which decides the schemes it may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlUse {
    Image,
    Video,
    /// A stream a live layer pulls (`{"pull"}`).
    Pull,
    Output,
}

impl MediaPolicy {
    /// Reads `MEDIA_ROOT` and `ALLOW_PRIVATE_MEDIA_URLS` from the environment.
    pub fn from_env() -> Result<Self, env::EnvError> {
        Ok(MediaPolicy {
            media_root: env::optional("MEDIA_ROOT").map(PathBuf::from),
            allow_private: env::parse_or("ALLOW_PRIVATE_MEDIA_URLS", false)?,
        })
    }

    /// Checks `raw` for `what`, naming `field` in the error.
    pub fn check(&self, field: &str, raw: &str, what: UrlUse) -> Result<Url, FieldError> {
        let err = |m: String| FieldError::new(field, m);
        let url = Url::parse(raw).map_err(|e| err(format!("is not a valid URL ({e})")))?;
        let schemes = match what {
            UrlUse::Image => IMAGE_SCHEMES,
            UrlUse::Video => VIDEO_SCHEMES,
            UrlUse::Pull => PULL_SCHEMES,
            UrlUse::Output => OUTPUT_SCHEMES,
        };
        if !schemes.contains(&url.scheme()) {
            return Err(err(format!("scheme must be one of {}", schemes.join(", "))));
        }
        if url.scheme() == "file" {
            self.check_file(&url).map_err(err)?;
            return Ok(url);
        }
        // Non-special schemes (rtmp, rtsp) keep IP literals as opaque "domains": read them
        // back as addresses so the address checks below apply to them too.
        let host = match url.host() {
            Some(Host::Domain(d)) => Some(numeric_host(d).unwrap_or(Host::Domain(d))),
            other => other,
        };
        match host {
            None => return Err(err("must name a host".into())),
            Some(Host::Domain(d)) if !self.allow_private && is_local_name(d) => {
                return Err(err(format!("host {d} is on a local or private network")));
            }
            Some(Host::Ipv4(ip)) if !self.allow_private && !is_public_ip(IpAddr::V4(ip)) => {
                return Err(err(format!(
                    "address {ip} is on a loopback or private network"
                )));
            }
            Some(Host::Ipv6(ip)) if !self.allow_private && !is_public_ip(IpAddr::V6(ip)) => {
                return Err(err(format!(
                    "address {ip} is on a loopback or private network"
                )));
            }
            Some(_) => {}
        }
        Ok(url)
    }

    /// Checks a resolved address, for nodes to call after DNS.
    pub fn check_resolved(&self, ip: IpAddr) -> bool {
        self.allow_private || is_public_ip(ip)
    }

    /// [`MediaPolicy::check`], then [`MediaPolicy::check_dns`]: what a node asks just before it
    /// connects to a URL. Blocking.
    pub fn check_reachable(&self, field: &str, raw: &str, what: UrlUse) -> Result<Url, FieldError> {
        let url = self.check(field, raw, what)?;
        self.check_dns(field, &url)?;
        Ok(url)
    }

    /// Resolves a checked URL's host name and refuses it when it points at a loopback or
    /// private address (a public-looking name the API could not see through). Blocking: the
    /// node calls it off its async threads, just before it connects. A name that does not
    /// resolve passes: the connection will fail by itself, and an output retries.
    pub fn check_dns(&self, field: &str, url: &Url) -> Result<(), FieldError> {
        self.check_dns_with(field, url, |host, port| {
            use std::net::ToSocketAddrs;
            (host, port)
                .to_socket_addrs()
                .map(|a| a.map(|s| s.ip()).collect())
                .unwrap_or_default()
        })
    }

    fn check_dns_with(
        &self,
        field: &str,
        url: &Url,
        resolve: impl Fn(&str, u16) -> Vec<IpAddr>,
    ) -> Result<(), FieldError> {
        let Some(Host::Domain(name)) = url.host() else {
            return Ok(());
        };
        if self.allow_private || numeric_host(name).is_some() {
            return Ok(());
        }
        let port = url.port_or_known_default().unwrap_or(0);
        match resolve(name, port)
            .into_iter()
            .find(|ip| !is_public_ip(*ip))
        {
            Some(ip) => Err(FieldError::new(
                field,
                format!("host {name} resolves to {ip}, on a loopback or private network"),
            )),
            None => Ok(()),
        }
    }

    fn check_file(&self, url: &Url) -> Result<(), String> {
        let Some(root) = &self.media_root else {
            return Err("file:// URLs are not allowed (no MEDIA_ROOT is set)".into());
        };
        if url
            .host_str()
            .is_some_and(|h| !h.is_empty() && h != "localhost")
        {
            return Err("file:// URLs must not name a host".into());
        }
        let path = url
            .to_file_path()
            .map_err(|()| "is not a valid file path".to_string())?;
        if path.components().any(|c| matches!(c, Component::ParentDir)) || !path.starts_with(root) {
            return Err(format!("file:// URLs must point inside {}", root.display()));
        }
        Ok(())
    }
}

/// Whether `path` lies inside `root` after resolving symlinks (for nodes opening files).
pub fn canonical_inside(root: &Path, path: &Path) -> bool {
    match (root.canonicalize(), path.canonicalize()) {
        (Ok(r), Ok(p)) => p.starts_with(r),
        _ => false,
    }
}

/// The address an opaque host denotes when the resolver reads it as a number. Besides the
/// dotted quad, `inet_aton` (which GStreamer's and ffmpeg's RTMP clients reach through
/// `getaddrinfo`) takes shortened and hex or octal forms (`127.1`, `0x7f.0.0.1`,
/// `0177.0.0.1`); WHATWG's IPv4 parser for special schemes follows the same rules, so the
/// host is read back through it.
fn numeric_host(domain: &str) -> Option<Host<&'static str>> {
    match domain.trim_start_matches('[').trim_end_matches(']').parse() {
        Ok(IpAddr::V4(ip)) => return Some(Host::Ipv4(ip)),
        Ok(IpAddr::V6(ip)) => return Some(Host::Ipv6(ip)),
        Err(_) => {}
    }
    match Url::parse(&format!("http://{domain}/")).ok()?.host()? {
        Host::Ipv4(ip) => Some(Host::Ipv4(ip)),
        Host::Ipv6(ip) => Some(Host::Ipv6(ip)),
        Host::Domain(_) => None,
    }
}

/// Names that resolve inside a private network: localhost, mDNS, cloud-internal and bare
/// single-label names (service names on a cluster network).
fn is_local_name(domain: &str) -> bool {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    d == "localhost"
        || d.ends_with(".localhost")
        || d.ends_with(".local")
        || d.ends_with(".internal")
        || d.ends_with(".lan")
        || !d.contains('.')
}

/// Whether an address is globally routable (not loopback, private, link-local, CGNAT, …).
/// IPv6 forms that carry an IPv4 address a host or gateway would reach (mapped, compatible,
/// NAT64, 6to4) are judged by that IPv4 address.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

/// The IPv4 address an IPv6 address stands for, where the network delivers it there:
/// `::ffff:a.b.c.d` (mapped), `::a.b.c.d` (the deprecated compatible form, which some stacks
/// still route to the IPv4 host), `64:ff9b::a.b.c.d` and `64:ff9b:1::/48` (NAT64, RFC 6052
/// and 8215), `2002:AABB:CCDD::/16` (6to4).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let o = ip.octets();
    let s = ip.segments();
    let low = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    if s[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified() {
        return Some(low);
    }
    if s[0] == 0x64 && s[1] == 0xff9b && (s[2..6] == [0; 4] || s[2] == 1) {
        return Some(low);
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    None
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments (192.0.0.0/24)
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link local
        || (first & 0xffc0) == 0xfec0 // site local (deprecated, still routed inside sites)
        || first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict() -> MediaPolicy {
        MediaPolicy {
            media_root: Some(PathBuf::from("/srv/media")),
            allow_private: false,
        }
    }

    #[test]
    fn refuses_private_and_local_targets() {
        let p = strict();
        for bad in [
            "http://127.0.0.1/a.png",
            "http://localhost/a.png",
            "http://10.1.2.3/a.png",
            "http://192.168.0.1/a.png",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/a.png",
            "http://[::ffff:127.0.0.1]/a.png",
            "http://[fd00::1]/a.png",
            "http://redis/a.png",
            "http://metadata.google.internal/",
            "http://0.0.0.0/",
            "ftp://example.com/a.png",
            "not a url",
            "file:///etc/passwd",
            "file:///srv/media/../../etc/passwd",
            "rtsp://127.0.0.1/cam",
            "rtmp://[::1]/live/x",
            "rtmp://10.0.0.1/live/x",
            "rtmp://localhost/live/x",
            // Numeric spellings the resolver reads as loopback or private addresses (found
            // by the media_url fuzz target's "no private address however spelled" property).
            "rtmp://127.1/live/x",
            "rtmp://0x7f.0.0.1/live/x",
            "rtmp://0177.0.0.1/live/x",
            "rtsp://10.1/cam",
            "rtsp://192.168.257/cam",
            // IPv6 spellings of private IPv4 addresses, and IPv6 ranges kept inside a site.
            "http://[::127.0.0.1]/a.png",
            "http://[::10.0.0.1]/a.png",
            "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",
            "http://[64:ff9b::127.0.0.1]/a.png",
            "http://[64:ff9b:1::a00:1]/a.png",
            "http://[2002:7f00:1::]/a.png",
            "http://[2002:c0a8:101::1]/a.png",
            "http://[fec0::1]/a.png",
            "http://192.0.0.170/a.png",
        ] {
            assert!(p.check("source.url", bad, UrlUse::Image).is_err(), "{bad}");
            assert!(p.check("source.uri", bad, UrlUse::Video).is_err(), "{bad}");
        }
    }

    #[test]
    fn ipv6_forms_of_public_ipv4_addresses_stay_public() {
        for ip in [
            "::ffff:93.184.216.34",
            "64:ff9b::5db8:d822",
            "2002:5db8:d822::1",
            "2606:4700::1111",
        ] {
            let ip: IpAddr = ip.parse().expect("a literal address");
            assert!(is_public_ip(ip), "{ip}");
        }
    }

    #[test]
    fn accepts_public_urls_and_media_root_files() {
        let p = strict();
        p.check("u", "https://cdn.example.com/a.png", UrlUse::Image)
            .unwrap();
        p.check("u", "file:///srv/media/clip.mp4", UrlUse::Video)
            .unwrap();
        p.check("o", "rtmp://a.rtmp.youtube.com/live2/abcd", UrlUse::Output)
            .unwrap();
        assert!(
            p.check("o", "https://example.com/x", UrlUse::Output)
                .is_err()
        );
    }

    #[test]
    fn private_allowed_when_operator_says_so() {
        let p = MediaPolicy {
            media_root: None,
            allow_private: true,
        };
        p.check("o", "rtmp://127.0.0.1:1935/live/x", UrlUse::Output)
            .unwrap();
        assert!(
            p.check("u", "file:///srv/media/a.png", UrlUse::Image)
                .is_err()
        );
    }

    #[test]
    fn names_that_resolve_to_private_addresses_are_refused_after_dns() {
        let url = Url::parse("rtmp://cdn.example.com/live/x").unwrap();
        let to = |ip: &'static str| move |_: &str, _: u16| vec![ip.parse().unwrap()];
        let err = strict()
            .check_dns_with("outputs", &url, to("127.0.0.1"))
            .unwrap_err();
        assert!(err.to_string().contains("127.0.0.1"), "{err}");
        assert!(
            strict()
                .check_dns_with("outputs", &url, to("10.0.0.7"))
                .is_err()
        );
        assert!(
            strict()
                .check_dns_with("outputs", &url, to("93.184.216.34"))
                .is_ok()
        );
        // Unresolvable: the connection fails by itself.
        assert!(
            strict()
                .check_dns_with("outputs", &url, |_, _| vec![])
                .is_ok()
        );
        let open = MediaPolicy {
            allow_private: true,
            ..strict()
        };
        assert!(
            open.check_dns_with("outputs", &url, to("127.0.0.1"))
                .is_ok()
        );
        // The real resolver: this machine's own name space, no network needed.
        let local = Url::parse("http://localhost/x.png").unwrap();
        assert!(strict().check_dns("source.url", &local).is_err());
    }
}
