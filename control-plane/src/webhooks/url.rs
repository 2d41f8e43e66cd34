//! Which endpoints a webhook may have: the media-URL policy (no loopback or private
//! addresses unless `ALLOW_PRIVATE_MEDIA_URLS`), HTTPS only (plain HTTP only where private
//! addresses are allowed: local stacks and tests), no credentials in the URL. Checked when
//! the webhook is registered and again before every try, where the host is resolved once,
//! every address checked, and the connection pinned to a checked one — a name that
//! re-resolves to a private address between check and connect (DNS rebinding) gets nowhere.

use std::net::{IpAddr, SocketAddr};

use shared::FieldError;
use shared::media_url::{MediaPolicy, UrlUse};
use url::{Host, Url};

/// Checks an endpoint URL as registered, naming `field` in the error.
pub fn check(policy: &MediaPolicy, field: &str, raw: &str) -> Result<Url, FieldError> {
    let err = |m: &str| FieldError::new(field, m);
    let url =
        Url::parse(raw).map_err(|e| FieldError::new(field, format!("is not a valid URL ({e})")))?;
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_private => {}
        _ => return Err(err("scheme must be https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(err("must not carry credentials"));
    }
    // The host checks are the media policy's (the scheme is already one an image may have).
    policy.check(field, raw, UrlUse::Image)
}

/// At registration: refuses a host name that resolves to a loopback or private address
/// (a public-looking name the literal checks could not see through). A name that does not
/// resolve passes here: its deliveries fail, logged, until it does.
pub async fn check_dns(policy: &MediaPolicy, field: &str, url: &Url) -> Result<(), FieldError> {
    let Some(Host::Domain(name)) = url.host() else {
        return Ok(());
    };
    if policy.allow_private {
        return Ok(());
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let Ok(addrs) = tokio::net::lookup_host((name, port)).await else {
        return Ok(());
    };
    for a in addrs {
        if !policy.check_resolved(a.ip()) {
            return Err(FieldError::new(
                field,
                format!(
                    "host {name} resolves to {}, on a loopback or private network",
                    a.ip()
                ),
            ));
        }
    }
    Ok(())
}

/// Where a try connects: the host name and the checked address to use for it (`None` for
/// an IP literal, which needs no resolving).
pub type Pin = Option<(String, SocketAddr)>;

/// Resolves the endpoint's host once and checks every address; the error says why not.
pub async fn pin(policy: &MediaPolicy, url: &Url) -> Result<Pin, String> {
    let port = url.port_or_known_default().unwrap_or(443);
    let refuse = |ip: IpAddr| format!("{ip} is on a loopback or private network");
    match url.host() {
        Some(Host::Domain(name)) => {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
                .await
                .map_err(|e| format!("cannot resolve {name}: {e}"))?
                .collect();
            if let Some(bad) = addrs.iter().find(|a| !policy.check_resolved(a.ip())) {
                return Err(format!("{name} resolves to {}", refuse(bad.ip())));
            }
            let first = addrs
                .first()
                .ok_or_else(|| format!("{name} resolves to no address"))?;
            Ok(Some((name.to_owned(), *first)))
        }
        Some(Host::Ipv4(ip)) if !policy.check_resolved(IpAddr::V4(ip)) => Err(refuse(ip.into())),
        Some(Host::Ipv6(ip)) if !policy.check_resolved(IpAddr::V6(ip)) => Err(refuse(ip.into())),
        Some(_) => Ok(None),
        None => Err("the URL names no host".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict() -> MediaPolicy {
        MediaPolicy {
            media_root: None,
            allow_private: false,
        }
    }

    #[test]
    fn only_public_https_without_credentials() {
        let p = strict();
        assert!(check(&p, "url", "https://hooks.example.com/x").is_ok());
        for bad in [
            "http://hooks.example.com/x",
            "ftp://hooks.example.com/x",
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://localhost/x",
            "https://[::1]/x",
            "https://u:p@hooks.example.com/x",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(check(&p, "url", bad).is_err(), "{bad}");
        }
        let local = MediaPolicy {
            media_root: None,
            allow_private: true,
        };
        assert!(check(&local, "url", "http://127.0.0.1:9/x").is_ok());
    }

    #[tokio::test]
    async fn pinning_refuses_names_that_resolve_private() {
        let url = Url::parse("https://localhost:9/x").unwrap();
        assert!(pin(&strict(), &url).await.is_err());
        let ip = Url::parse("https://127.0.0.1:9/x").unwrap();
        assert!(pin(&strict(), &ip).await.is_err());
    }
}
