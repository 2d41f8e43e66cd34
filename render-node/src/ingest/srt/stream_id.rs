//! The stream key in an SRT caller's stream id. Publishers send the SRT access-control form
//! `#!::r=live/{streamKey},m=publish` (Haivision's AccessControl.md: comma-separated
//! `key=value` pairs after `#!::`), or just the key. Anything else is refused in the
//! handshake with the matching `SRT_REJX_*` code, before a key is ever checked.

/// `SRT_REJX_BAD_REQUEST`: the stream id is not one of the accepted forms.
pub const REJECT_BAD_REQUEST: i32 = 1400;
/// `SRT_REJX_OVERLOAD`: the node or this address has no room, or is out of key checks.
pub const REJECT_OVERLOAD: i32 = 1402;
/// `SRT_REJX_FORBIDDEN`: the key was refused.
pub const REJECT_FORBIDDEN: i32 = 1403;
/// `SRT_REJX_NOTFOUND`: a resource outside `live/`.
pub const REJECT_NOT_FOUND: i32 = 1404;
/// `SRT_REJX_BAD_MODE`: only `m=publish` is served here.
pub const REJECT_BAD_MODE: i32 = 1405;

/// The application keys live under, as in RTMP's `/live/{streamKey}`.
const APP: &str = "live/";
/// The access-control syntax's prefix.
const ACCESS_CONTROL: &str = "#!::";

/// Why a stream id was refused, with the code the caller is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadStreamId {
    pub code: i32,
    pub reason: &'static str,
}

fn bad(code: i32, reason: &'static str) -> BadStreamId {
    BadStreamId { code, reason }
}

/// The stream key `sid` publishes with.
pub fn publish_key(sid: &str) -> Result<&str, BadStreamId> {
    let resource = match sid.strip_prefix(ACCESS_CONTROL) {
        Some(pairs) => {
            let mut resource = None;
            for pair in pairs.split(',') {
                let (k, v) = pair.split_once('=').ok_or(bad(
                    REJECT_BAD_REQUEST,
                    "stream id pair without '=' (use #!::r=live/{streamKey},m=publish)",
                ))?;
                match k.trim() {
                    "r" => resource = Some(v.trim()),
                    // Absent means publish: this endpoint only takes publishers.
                    "m" if v.trim() != "publish" => {
                        return Err(bad(REJECT_BAD_MODE, "only m=publish is served here"));
                    }
                    // Other standard keys (u, s, t, h) carry nothing this endpoint uses.
                    _ => {}
                }
            }
            resource.ok_or(bad(
                REJECT_BAD_REQUEST,
                "stream id without r= (use #!::r=live/{streamKey},m=publish)",
            ))?
        }
        None => sid.trim(),
    };
    let key = match resource.strip_prefix(APP) {
        Some(key) => key,
        None if resource.contains('/') => {
            return Err(bad(
                REJECT_NOT_FOUND,
                "unknown application (publish to r=live/{streamKey})",
            ));
        }
        None => resource,
    };
    if key.is_empty() || key.contains('/') {
        return Err(bad(REJECT_BAD_REQUEST, "stream id without a stream key"));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_access_control_form_and_a_bare_key_name_the_key() {
        assert_eq!(publish_key("#!::r=live/sk_abc,m=publish"), Ok("sk_abc"));
        assert_eq!(
            publish_key("#!::m=publish,r=live/sk_abc,u=cam1"),
            Ok("sk_abc")
        );
        assert_eq!(publish_key("#!::r=live/sk_abc"), Ok("sk_abc"));
        assert_eq!(publish_key("sk_abc"), Ok("sk_abc"));
        assert_eq!(publish_key("live/sk_abc"), Ok("sk_abc"));
    }

    #[test]
    fn other_modes_applications_and_malformed_ids_are_refused_with_their_codes() {
        let code = |s| publish_key(s).map_err(|e| e.code);
        assert_eq!(code("#!::r=live/sk_abc,m=request"), Err(REJECT_BAD_MODE));
        assert_eq!(code("#!::r=other/sk_abc,m=publish"), Err(REJECT_NOT_FOUND));
        assert_eq!(code("#!::m=publish"), Err(REJECT_BAD_REQUEST));
        assert_eq!(code("#!::r"), Err(REJECT_BAD_REQUEST));
        assert_eq!(code("#!::r=live/,m=publish"), Err(REJECT_BAD_REQUEST));
        assert_eq!(code(""), Err(REJECT_BAD_REQUEST));
        assert_eq!(code("live/a/b"), Err(REJECT_BAD_REQUEST));
    }
}
