//! Where an RTMP destination's connection goes: its host name resolved once, every address
//! checked against the media policy, and the sink handed the checked address, so nothing
//! resolves the name a second time between the check and the connection (DNS rebinding).
//!
//! `rtmp2sink` connects to the `host` of its location and builds the `tcUrl` from it; it has
//! no separate connect address, so a pinned plain-RTMP destination's `tcUrl` carries the IP
//! address instead of the name (ingest servers route on the application and stream key, and
//! the ones tried accept it). RTMPS needs the name itself for SNI and certificate
//! validation, which `rtmp2sink` does against its `host`: those destinations are checked
//! after resolution and connected by name, and it is the certificate check (left on) that
//! keeps a name re-pointed at an internal address from getting further than a TLS
//! handshake an internal service cannot complete for that name.

use std::net::{IpAddr, ToSocketAddrs};

use shared::media_url::{MediaPolicy, UrlUse};
use url::{Host, Url};

/// What the tenant reads when the policy refuses a destination: not which address its name
/// had, nor why (an oracle for the node's resolver).
pub const DESTINATION_REFUSED: &str = "destination refused by the node's network policy";

/// Why a destination cannot be connected now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinError {
    /// The policy refuses it (the detail is for the node's log only).
    Refused(String),
    /// Its name has no address now: retried like a dropped connection.
    Unresolved,
}

/// The location to hand the sink for `url`: unchanged without a policy (the operator's own
/// command line), else checked and, for `rtmp://`, with the host replaced by the checked
/// address. Blocking (name resolution).
pub fn pin(policy: Option<&MediaPolicy>, url: &str) -> Result<String, PinError> {
    pin_with(policy, url, |host, port| {
        (host, port)
            .to_socket_addrs()
            .map(|a| a.map(|s| s.ip()).collect())
            .unwrap_or_default()
    })
}

fn pin_with(
    policy: Option<&MediaPolicy>,
    url: &str,
    resolve: impl Fn(&str, u16) -> Vec<IpAddr>,
) -> Result<String, PinError> {
    let Some(policy) = policy else {
        return Ok(url.to_owned());
    };
    let mut checked = policy
        .check("outputs", url, UrlUse::Output)
        .map_err(|e| PinError::Refused(e.to_string()))?;
    let name = match checked.host() {
        Some(Host::Domain(d)) if d.parse::<IpAddr>().is_err() => d.to_owned(),
        // An address the literal check has seen: nothing to resolve.
        _ => return Ok(url.to_owned()),
    };
    let port = checked.port_or_known_default().unwrap_or(1935);
    let addrs = resolve(&name, port);
    if addrs.is_empty() {
        return Err(PinError::Unresolved);
    }
    if let Some(ip) = addrs.iter().find(|ip| !policy.check_resolved(**ip)) {
        return Err(PinError::Refused(format!(
            "host {name} resolves to {ip}, on a loopback or private network"
        )));
    }
    if checked.scheme() == "rtmps" {
        return Ok(url.to_owned());
    }
    let ip = addrs
        .iter()
        .find(|ip| ip.is_ipv4())
        .unwrap_or(&addrs[0])
        .to_owned();
    set_host(&mut checked, ip, &name)?;
    Ok(checked.to_string())
}

/// Puts `ip` in place of the host name (the port stays what the URL says or implies).
fn set_host(url: &mut Url, ip: IpAddr, name: &str) -> Result<(), PinError> {
    let literal = match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    url.set_host(Some(&literal))
        .map_err(|e| PinError::Refused(format!("cannot pin {name} to {ip}: {e}")))
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
    fn a_name_is_resolved_once_and_replaced_by_its_checked_address() {
        let calls = std::cell::Cell::new(0);
        let public = |_: &str, _: u16| {
            calls.set(calls.get() + 1);
            vec!["93.184.216.34".parse().unwrap()]
        };
        let pinned = pin_with(
            Some(&strict()),
            "rtmp://u:p@live.example.com/app/key?x=1",
            public,
        )
        .unwrap();
        assert_eq!(pinned, "rtmp://u:p@93.184.216.34/app/key?x=1");
        assert_eq!(calls.get(), 1);
        let private = |_: &str, _: u16| vec!["127.0.0.1".parse().unwrap()];
        assert!(matches!(
            pin_with(
                Some(&strict()),
                "rtmp://live.example.com:1936/app/k",
                private
            ),
            Err(PinError::Refused(_))
        ));
        assert_eq!(
            pin_with(
                Some(&strict()),
                "rtmp://live.example.com/app/k",
                |_, _| vec![]
            ),
            Err(PinError::Unresolved)
        );
        assert!(matches!(
            pin_with(Some(&strict()), "rtmp://127.0.0.1/app/k", public),
            Err(PinError::Refused(_))
        ));
        // TLS validates the name: kept, after its addresses were checked.
        assert_eq!(
            pin_with(Some(&strict()), "rtmps://live.example.com/app/k", public).unwrap(),
            "rtmps://live.example.com/app/k"
        );
        assert_eq!(
            pin_with(None, "rtmp://127.0.0.1/app/k", private).unwrap(),
            "rtmp://127.0.0.1/app/k"
        );
    }
}
