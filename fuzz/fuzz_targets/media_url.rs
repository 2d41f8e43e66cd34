//! The media-URL policy (image `url`, video `uri`, RTMP `outputs`). For any input:
//! - an accepted URL has a scheme allowed for its use;
//! - the verdict is stable: the normalised URL the check returns is accepted again;
//! - the strict policy accepts nothing the permissive one refuses;
//! - under the strict policy, no accepted URL names a loopback or private address, however the
//!   address is spelled (`127.1`, `0x7f.0.0.1`, `[::ffff:10.0.0.1]`), read the way a
//!   resolver reads numeric hosts (WHATWG's IPv4 rules follow `inet_aton`'s);
//! - a strict `file://` URL stays inside `MEDIA_ROOT`.
#![no_main]

use std::net::IpAddr;
use std::path::{Component, PathBuf};

use libfuzzer_sys::fuzz_target;
use shared::media_url::{MediaPolicy, UrlUse, is_public_ip};
use url::{Host, Url};

/// The address a host string denotes when a resolver reads it as a numeric literal.
fn numeric_host(host: &str) -> Option<IpAddr> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Some(ip);
    }
    match Url::parse(&format!("http://{host}/")).ok()?.host()? {
        Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        Host::Domain(_) => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(raw) = std::str::from_utf8(rest) else {
        return;
    };
    let what = match selector % 4 {
        0 => UrlUse::Image,
        1 => UrlUse::Video,
        2 => UrlUse::Pull,
        _ => UrlUse::Output,
    };
    let root = PathBuf::from("/srv/media");
    let strict = MediaPolicy {
        media_root: Some(root.clone()),
        allow_private: false,
    };
    let open = MediaPolicy {
        media_root: Some(root.clone()),
        allow_private: true,
    };
    let strict_verdict = strict.check("u", raw, what);
    let open_verdict = open.check("u", raw, what);
    if strict_verdict.is_ok() {
        assert!(
            open_verdict.is_ok(),
            "strict accepts {raw:?} but permissive refuses it"
        );
    }
    for (policy, verdict) in [(&strict, &strict_verdict), (&open, &open_verdict)] {
        let Ok(url) = verdict else { continue };
        let allowed: &[&str] = match what {
            UrlUse::Image => &["http", "https", "file"],
            UrlUse::Video => &["http", "https", "file", "rtsp", "rtmp", "rtmps"],
            UrlUse::Pull => &["rtmp", "rtmps", "srt", "http", "https"],
            UrlUse::Output => &["rtmp", "rtmps"],
        };
        assert!(
            allowed.contains(&url.scheme()),
            "{raw:?} accepted for {what:?}"
        );
        assert!(
            policy.check("u", url.as_str(), what).is_ok(),
            "{raw:?} accepted, its normal form {:?} refused",
            url.as_str()
        );
    }
    let Ok(url) = strict_verdict else {
        return;
    };
    if url.scheme() == "file" {
        let path = url.to_file_path().expect("an accepted file URL has a path");
        assert!(path.starts_with(&root), "{raw:?} escapes the media root");
        assert!(
            !path.components().any(|c| matches!(c, Component::ParentDir)),
            "{raw:?}"
        );
    } else if let Some(host) = url.host_str()
        && let Some(ip) = numeric_host(host)
    {
        assert!(
            is_public_ip(ip),
            "strict policy accepts {raw:?}, which reaches {ip}"
        );
    }
});
