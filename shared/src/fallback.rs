//! The fallback ladder of a live layer: what it shows when its feed stalls, when it goes
//! back, and how a node reports which rung is on air.
//!
//! A live source (an ingest key) may name `fallbacks`: other live sources, ending
//! optionally with a slate. The node watches every rung; when the one on air has produced
//! no frame for `stallMs` it switches to the next rung that is alive, and back up the
//! ladder once a higher rung has been healthy for `recoverMs` (a picture replaces a slate
//! at once). The rules the node follows live in the render node; this module holds the
//! contract: the request's shape and limits, and the status and event shape.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::validation::{FieldError, in_range};

/// A rung with no frame for this long has stalled, unless the layer says otherwise.
pub const DEFAULT_STALL_MS: u32 = 1_000;
/// A higher rung must have been healthy this long before the layer goes back to it.
pub const DEFAULT_RECOVER_MS: u32 = 3_000;
/// Rungs a ladder may have besides its primary: each live rung costs a decoder.
pub const MAX_FALLBACKS: usize = 4;

/// One rung below a layer's primary source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged, deny_unknown_fields)]
pub enum FallbackRung {
    /// Another stream key's live feed.
    #[serde(rename_all = "camelCase")]
    Ingest { key_id: Uuid },
    /// A stream the node pulls (RTMP, SRT, an MP4 over HTTP(S)), looped when asked.
    Pull {
        pull: String,
        #[serde(rename = "loop", default, skip_serializing_if = "Option::is_none")]
        looping: Option<bool>,
    },
    /// A still picture: an uploaded image asset, or the node's own "waiting" slate.
    Slate {
        #[cfg_attr(feature = "openapi", schema(value_type = String, example = "default"))]
        slate: SlateRef,
    },
}

/// Which still a slate rung shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum SlateRef {
    /// The node's built-in slate.
    Default,
    /// One of the tenant's uploaded image assets.
    Asset(Uuid),
}

impl TryFrom<String> for SlateRef {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        if s == "default" {
            return Ok(SlateRef::Default);
        }
        Uuid::parse_str(&s)
            .map(SlateRef::Asset)
            .map_err(|_| format!("must be an asset id or \"default\", got {s:?}"))
    }
}

impl From<SlateRef> for String {
    fn from(s: SlateRef) -> String {
        match s {
            SlateRef::Default => "default".into(),
            SlateRef::Asset(id) => id.to_string(),
        }
    }
}

impl FallbackRung {
    /// The name a rung has in status and events (ids only: never a stream key; a pulled
    /// URL with its credentials and last path segment masked, as outputs are).
    pub fn describe(&self) -> String {
        match self {
            FallbackRung::Ingest { key_id } => format!("ingest:{key_id}"),
            FallbackRung::Pull { pull, .. } => {
                format!("pull:{}", crate::tenant_text::mask_output_url(pull))
            }
            FallbackRung::Slate { slate } => format!("slate:{}", String::from(*slate)),
        }
    }
}

/// Reads `source.fallbacks` rung by rung, so a malformed rung is named by its index
/// (an untagged enum's own error names no variant and no place).
pub fn check_rung_shapes(source: &Value) -> Result<(), FieldError> {
    let Some(rungs) = source.get("fallbacks") else {
        return Ok(());
    };
    let Some(rungs) = rungs.as_array() else {
        return Err(FieldError::new("source.fallbacks", "must be an array"));
    };
    for (i, rung) in rungs.iter().enumerate() {
        if let Some(Value::String(s)) = rung.get("slate") {
            SlateRef::try_from(s.clone())
                .map_err(|m| FieldError::new(format!("source.fallbacks[{i}].slate"), m))?;
        }
        serde_json::from_value::<FallbackRung>(rung.clone()).map_err(|_| {
            FieldError::new(
                format!("source.fallbacks[{i}]"),
                r#"must be {"keyId": id}, {"pull": url, "loop"?: bool} or {"slate": assetId | "default"}"#,
            )
        })?;
    }
    Ok(())
}

/// Checks a ladder: its length, a slate only as the last rung, no source twice (with the
/// primary named `primary`), and its timings.
pub fn validate_ladder(
    primary: &FallbackRung,
    fallbacks: &[FallbackRung],
    stall_ms: Option<u32>,
    recover_ms: Option<u32>,
    crossfade_ms: Option<u32>,
) -> Result<(), FieldError> {
    if fallbacks.len() > MAX_FALLBACKS {
        return Err(FieldError::new(
            "source.fallbacks",
            format!("may have at most {MAX_FALLBACKS} rungs"),
        ));
    }
    for (i, rung) in fallbacks.iter().enumerate() {
        let field = format!("source.fallbacks[{i}]");
        if matches!(rung, FallbackRung::Slate { .. }) && i + 1 != fallbacks.len() {
            return Err(FieldError::new(
                field,
                "a slate is always alive: it can only be the last rung",
            ));
        }
        if same_source(rung, primary) || fallbacks[..i].iter().any(|r| same_source(r, rung)) {
            return Err(FieldError::new(field, "is already on the ladder"));
        }
        if let FallbackRung::Pull { pull, .. } = rung {
            check_pull_url(&format!("{field}.pull"), pull)?;
        }
    }
    if let Some(v) = stall_ms {
        in_range("source.stallMs", v, 100, 60_000)?;
    }
    if let Some(v) = recover_ms {
        in_range("source.recoverMs", v, 0, 600_000)?;
    }
    if let Some(v) = crossfade_ms {
        in_range("source.crossfadeMs", v, 0, 5_000)?;
    }
    Ok(())
}

/// Whether two rungs show the same thing (a pulled URL looped or not is one source).
fn same_source(a: &FallbackRung, b: &FallbackRung) -> bool {
    match (a, b) {
        (FallbackRung::Pull { pull: x, .. }, FallbackRung::Pull { pull: y, .. }) => x == y,
        _ => a == b,
    }
}

/// Checks a pulled URL's length and kind (the media policy is checked where the server's
/// settings are known). HLS is refused: its demuxer fetches segments through an HTTP client
/// of its own, which the node cannot check against the media policy (see the render node's
/// `sources/guard.rs`), so a playlist could point the node anywhere.
pub fn check_pull_url(field: &str, url: &str) -> Result<(), FieldError> {
    crate::validation::text_len(field, url, 1, 2048)?;
    let path = url.split(['?', '#']).next().unwrap_or(url);
    if path.to_ascii_lowercase().ends_with(".m3u8") {
        return Err(FieldError::new(
            field,
            "HLS playlists are not pulled: their segment fetches cannot be checked against the media policy",
        ));
    }
    Ok(())
}

/// One rung as a node reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RungStatus {
    /// `ingest:{keyId}`, `pull:{masked URL}` or `slate:{assetId|default}`.
    pub source: String,
    /// Produced a frame within the layer's `stallMs` (a slate always is).
    pub healthy: bool,
    /// Milliseconds since its last new frame; absent before the first and for slates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_frame_ms: Option<u64>,
}

/// Which rung of a layer's ladder is on air, and every rung's health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LayerSourceStatus {
    pub layer_id: Uuid,
    /// Index of the rung on air: 0 is the primary, then `fallbacks` in order.
    pub active: usize,
    /// The rung on air's name (as in `rungs`).
    pub active_source: String,
    /// The primary first, then the fallbacks.
    pub rungs: Vec<RungStatus>,
    /// Switches since the layer was loaded.
    pub switches: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(n: u128) -> FallbackRung {
        FallbackRung::Ingest {
            key_id: Uuid::from_u128(n),
        }
    }

    #[test]
    fn rungs_read_and_write_their_wire_shape() {
        let rungs: Vec<FallbackRung> = serde_json::from_value(json!([
            {"keyId": Uuid::from_u128(2)}, {"slate": "default"}
        ]))
        .unwrap();
        assert_eq!(
            rungs,
            vec![
                key(2),
                FallbackRung::Slate {
                    slate: SlateRef::Default
                }
            ]
        );
        let asset = json!({"slate": Uuid::from_u128(9)});
        let r: FallbackRung = serde_json::from_value(asset.clone()).unwrap();
        assert_eq!(serde_json::to_value(r).unwrap(), asset);
    }

    #[test]
    fn malformed_rungs_are_named_by_index() {
        let e = check_rung_shapes(&json!({"fallbacks": [{"keyId": Uuid::nil()}, {"x": 1}]}))
            .unwrap_err();
        assert_eq!(e.field, "source.fallbacks[1]");
        let e = check_rung_shapes(&json!({"fallbacks": [{"slate": "nope"}]})).unwrap_err();
        assert_eq!(e.field, "source.fallbacks[0].slate");
        let e = check_rung_shapes(&json!({"fallbacks": {}})).unwrap_err();
        assert_eq!(e.field, "source.fallbacks");
    }

    #[test]
    fn ladders_are_checked() {
        let slate = FallbackRung::Slate {
            slate: SlateRef::Default,
        };
        assert!(validate_ladder(&key(1), &[key(2), slate.clone()], None, None, None).is_ok());
        let e = validate_ladder(&key(1), &[slate.clone(), key(2)], None, None, None).unwrap_err();
        assert_eq!(e.field, "source.fallbacks[0]");
        let e = validate_ladder(&key(1), &[key(1)], None, None, None).unwrap_err();
        assert_eq!(e.field, "source.fallbacks[0]");
        let e = validate_ladder(&key(1), &[key(2), key(2)], None, None, None).unwrap_err();
        assert_eq!(e.field, "source.fallbacks[1]");
        let e = validate_ladder(&key(1), &[key(2)], Some(5), None, None).unwrap_err();
        assert_eq!(e.field, "source.stallMs");
        let e = validate_ladder(&key(1), &[key(2)], None, None, Some(9_000)).unwrap_err();
        assert_eq!(e.field, "source.crossfadeMs");
        let many: Vec<_> = (2..8).map(key).collect();
        let e = validate_ladder(&key(1), &many, None, None, None).unwrap_err();
        assert_eq!(e.field, "source.fallbacks");
    }
}
