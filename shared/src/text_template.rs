//! Live values in a text layer: `{{clock:HH:mm:ss}}`, `{{date:yyyy-MM-dd}}` and
//! `{{countdown:2026-12-31T23:59:59Z}}`, all in UTC.
//!
//! The control plane parses a text once to refuse unknown placeholders (422 on
//! `source.text`); the render node expands it against the clock and re-renders the layer
//! only when the expanded text differs from what is on air (so `HH:mm` costs one rendering a
//! minute, `HH:mm:ss` one a second). Everything outside `{{…}}` is literal text.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One piece of a parsed text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    /// A date/time format of `yyyy MM dd HH mm ss` tokens, other characters literal.
    Clock(String),
    /// Seconds since the Unix epoch to count down to.
    Countdown(i64),
}

/// A text with its placeholders parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// Why a text's placeholder was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(String);

impl Template {
    /// Parses `text`; `{{` with no placeholder name we know is an error.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let Some(len) = rest[start..].find("}}") else {
                return Err(TemplateError("an unclosed {{ placeholder".into()));
            };
            if start > 0 {
                parts.push(Part::Literal(rest[..start].to_owned()));
            }
            let inner = &rest[start + 2..start + len];
            let (name, arg) = inner.split_once(':').unwrap_or((inner, ""));
            parts.push(match name.trim() {
                "clock" => Part::Clock(format_or(arg, "HH:mm:ss")?),
                "date" => Part::Clock(format_or(arg, "yyyy-MM-dd")?),
                "countdown" => Part::Countdown(parse_rfc3339(arg.trim()).ok_or_else(|| {
                    TemplateError(format!(
                        "countdown needs a UTC time like 2026-12-31T23:59:59Z, got {arg:?}"
                    ))
                })?),
                other => {
                    return Err(TemplateError(format!(
                        "unknown placeholder {{{{{other}}}}}: use clock, date or countdown"
                    )));
                }
            });
            rest = &rest[start + len + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Ok(Template { parts })
    }

    /// Whether the text has live values (otherwise it is rendered once).
    pub fn is_live(&self) -> bool {
        self.parts.iter().any(|p| !matches!(p, Part::Literal(_)))
    }

    /// The text as it reads at `now`.
    pub fn expand(&self, now: SystemTime) -> String {
        let secs = match now.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        };
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Literal(s) => out.push_str(s),
                Part::Clock(f) => format_time(&mut out, f, secs),
                Part::Countdown(to) => {
                    let left = (to - secs).max(0);
                    let (d, h, m, s) = (left / 86_400, left / 3600 % 24, left / 60 % 60, left % 60);
                    if d > 0 {
                        out.push_str(&format!("{d}d {h:02}:{m:02}:{s:02}"));
                    } else {
                        out.push_str(&format!("{h:02}:{m:02}:{s:02}"));
                    }
                }
            }
        }
        out
    }

    /// How long after `now` the expanded text may next change: to the next whole second
    /// (every placeholder resolves to seconds at most).
    pub fn next_change(&self, now: SystemTime) -> Duration {
        let into = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        Duration::from_nanos(u64::from(1_000_000_000 - into))
    }
}

fn format_or(arg: &str, default: &str) -> Result<String, TemplateError> {
    let f = if arg.is_empty() { default } else { arg };
    if f.chars().count() > 64 {
        return Err(TemplateError(
            "a date format is at most 64 characters".into(),
        ));
    }
    Ok(f.to_owned())
}

/// Writes `secs` (UTC) in format `f`: `yyyy MM dd HH mm ss` are replaced.
fn format_time(out: &mut String, f: &str, secs: i64) {
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    let mut rest = f;
    while !rest.is_empty() {
        let token = [
            ("yyyy", format!("{y:04}")),
            ("MM", format!("{mo:02}")),
            ("dd", format!("{d:02}")),
            ("HH", format!("{:02}", tod / 3600)),
            ("mm", format!("{:02}", tod / 60 % 60)),
            ("ss", format!("{:02}", tod % 60)),
        ]
        .into_iter()
        .find(|(t, _)| rest.starts_with(t));
        match token {
            Some((t, v)) => {
                out.push_str(&v);
                rest = &rest[t.len()..];
            }
            None => {
                let c = rest.chars().next().unwrap_or(' ');
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
}

/// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a civil date (inverse of [`civil_from_days`]).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SS` followed by `Z` or `±HH:MM`
/// (fractions of a second are ignored).
fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = &frac[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && matches!(&rest[3..4], ":") => {
            let sign = match &rest[..1] {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let oh: i64 = rest[1..3].parse().ok()?;
            let om: i64 = rest[4..6].parse().ok()?;
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo as u32, d as u32);
    Some(days * 86_400 + h * 3600 + mi * 60 + se - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn placeholders_expand_in_utc() {
        // 2026-12-02T10:05:09Z
        let now = parse_rfc3339("2026-12-02T10:05:09Z").unwrap() as u64;
        let t = Template::parse("Live {{clock:HH:mm:ss}} on {{date:dd/MM/yyyy}}").unwrap();
        assert!(t.is_live());
        assert_eq!(t.expand(at(now)), "Live 10:05:09 on 02/12/2026");
        let t = Template::parse("T-{{countdown:2026-12-02T11:05:10+01:00}}!").unwrap();
        assert_eq!(t.expand(at(now)), "T-00:00:01!");
        assert_eq!(t.expand(at(now + 5)), "T-00:00:00!");
        let t = Template::parse("{{countdown:2026-12-03T10:05:10Z}}").unwrap();
        assert_eq!(t.expand(at(now)), "1d 00:00:01");
        let plain = Template::parse("no {placeholders} here").unwrap();
        assert!(!plain.is_live());
        assert_eq!(plain.expand(at(0)), "no {placeholders} here");
    }

    #[test]
    fn unknown_or_malformed_placeholders_are_refused() {
        assert!(Template::parse("{{weather}}").is_err());
        assert!(Template::parse("{{clock:HH").is_err());
        assert!(Template::parse("{{countdown:tomorrow}}").is_err());
        assert!(Template::parse("{{countdown:2026-13-01T00:00:00Z}}").is_err());
    }

    #[test]
    fn dates_convert_both_ways() {
        for days in [-1000, 0, 59, 365, 11_016, 20_789, 100_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }
}
