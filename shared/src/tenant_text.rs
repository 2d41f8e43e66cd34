//! What text may carry to a tenant (answers, events, stored failure reasons, logs): no
//! credentials in URLs (`user:pass@` becomes `****@`), no signatures or tokens in query
//! strings (`sig=`, `token=` values become `****`), and a bounded length cut on a
//! character boundary.
//!
//! Failure texts come from GStreamer and libraries on the render nodes and quote the URLs
//! they failed on, among them the node's signed asset URLs and tenants' RTMP destinations;
//! the control plane passes every such text through [`redact`] before a tenant sees it.
//! Destination and pulled-source URLs are shown through [`mask_output_url`].

/// Query parameters whose values are secrets.
const SECRET_PARAMS: [&str; 2] = ["sig=", "token="];

/// Whether `c` ends a URL's authority or a query value inside free text.
fn ends_value(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')' | ']' | '}' | ',' | '`')
}

/// `url` (or any text) with every URL's user information masked.
pub fn mask_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (before, after) = rest.split_at(i + 3);
        out.push_str(before);
        let end = after
            .find(|c: char| matches!(c, '/' | '?' | '#') || ends_value(c))
            .unwrap_or(after.len());
        let authority = &after[..end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("****");
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// `text` with the values of secret query parameters masked.
fn mask_params(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next = SECRET_PARAMS
            .iter()
            .filter_map(|p| rest.find(p).map(|i| (i, p.len())))
            .min();
        let Some((i, len)) = next else { break };
        let (before, after) = rest.split_at(i + len);
        out.push_str(before);
        // Only a query parameter (`?sig=`, `&sig=`), not a word that ends in "sig".
        let is_param = i == 0 || matches!(rest[..i].chars().next_back(), Some('?' | '&' | ';'));
        let end = if is_param {
            let end = after
                .find(|c: char| matches!(c, '&' | '#') || ends_value(c))
                .unwrap_or(after.len());
            out.push_str("****");
            end
        } else {
            0
        };
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// `text` safe for a tenant: credentials and signatures masked.
pub fn redact(text: &str) -> String {
    mask_params(&mask_userinfo(text))
}

/// At most `max_bytes` of `text`, cut on a character boundary.
pub fn truncate(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Redacts every string in a JSON document (an event's data), in place.
pub fn redact_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s)
            if s.contains("://") || s.contains("sig=") || s.contains("token=") =>
        {
            *s = redact(s);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        serde_json::Value::Object(map) => map.values_mut().for_each(redact_json),
        _ => {}
    }
}

/// Hides the secret parts of an RTMP URL: its user information and its last path segment
/// (the stream key).
pub fn mask_output_url(raw: &str) -> String {
    let raw = &mask_userinfo(raw);
    let (head, key) = match raw.rsplit_once('/') {
        Some((h, k)) if !h.ends_with('/') && !h.is_empty() => (h, k),
        _ => return "****".to_owned(),
    };
    let tail: String = key
        .chars()
        .rev()
        .take(if key.chars().count() > 8 { 4 } else { 0 })
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{head}/****{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_are_masked() {
        assert_eq!(
            mask_userinfo("rtmp://bob:hunter2@live.example.com/app/key"),
            "rtmp://****@live.example.com/app/key"
        );
        assert_eq!(
            redact("connect to rtmps://u:p@h:443/x failed; retry rtmp://h2/y"),
            "connect to rtmps://****@h:443/x failed; retry rtmp://h2/y"
        );
        assert_eq!(mask_userinfo("rtmp://host/a@b"), "rtmp://host/a@b");
        assert_eq!(mask_userinfo("no url here"), "no url here");
    }

    #[test]
    fn signatures_and_tokens_are_masked() {
        assert_eq!(
            redact("Not Found (404): http://10.0.0.5:8080/internal/assets/ab?sig=deadbeef&x=1"),
            "Not Found (404): http://10.0.0.5:8080/internal/assets/ab?sig=****&x=1"
        );
        assert_eq!(
            redact("ws://h/e?token=eyJ.a.b end"),
            "ws://h/e?token=**** end"
        );
        assert_eq!(redact("design=1"), "design=1");
    }

    #[test]
    fn truncation_keeps_characters_whole() {
        let s = "é".repeat(300);
        assert_eq!(truncate(&s, 500).len(), 500);
        assert_eq!(truncate(&s, 499).len(), 498);
        assert_eq!(truncate("short", 500), "short");
    }

    #[test]
    fn every_string_of_an_event_is_redacted() {
        let mut v =
            serde_json::json!({"reason": "x http://a:b@h/?sig=1", "n": 1, "l": ["token=2"]});
        redact_json(&mut v);
        assert_eq!(v["reason"], "x http://****@h/?sig=****");
        assert_eq!(v["l"][0], "token=****");
    }

    #[test]
    fn masks_the_key_segment() {
        assert_eq!(
            mask_output_url("rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl"),
            "rtmp://a.rtmp.youtube.com/live2/****ijkl"
        );
        assert_eq!(mask_output_url("rtmp://h/live/short"), "rtmp://h/live/****");
        assert_eq!(mask_output_url("garbage"), "****");
        assert_eq!(
            mask_output_url("rtmp://bob:pw@h/live/abcd-efgh-ijkl"),
            "rtmp://****@h/live/****ijkl"
        );
    }
}
