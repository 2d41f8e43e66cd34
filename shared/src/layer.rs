//! A layer: one visual element of a scene, of one of five kinds.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::audio::LayerAudio;
use crate::color::Rgba;
use crate::effect::{Effect, validate_effects};
use crate::fallback::{FallbackRung, check_pull_url, check_rung_shapes, validate_ladder};
use crate::validation::{FieldError, in_range, text_len};

/// Largest coordinate or dimension we accept, in canvas pixels (4× a 4K canvas).
pub const MAX_COORD: i32 = 16_384;

/// What a layer shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum LayerKind {
    Color,
    Image,
    Text,
    Video,
    Ingest,
}

impl LayerKind {
    /// The wire name, as stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            LayerKind::Color => "color",
            LayerKind::Image => "image",
            LayerKind::Text => "text",
            LayerKind::Video => "video",
            LayerKind::Ingest => "ingest",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "color" => LayerKind::Color,
            "image" => LayerKind::Image,
            "text" => LayerKind::Text,
            "video" => LayerKind::Video,
            "ingest" => LayerKind::Ingest,
            _ => return None,
        })
    }
}

/// Top-left corner of a layer, in canvas pixels (may be negative: partly off-screen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub x: i32,
    pub y: i32,
}

/// Box a layer is scaled into, in canvas pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Size {
    pub width: i32,
    pub height: i32,
}

impl Position {
    /// Checks both coordinates are within ±[`MAX_COORD`].
    pub fn validate(&self) -> Result<(), FieldError> {
        in_range("position.x", self.x, -MAX_COORD, MAX_COORD)?;
        in_range("position.y", self.y, -MAX_COORD, MAX_COORD)?;
        Ok(())
    }
}

impl Size {
    /// Checks both dimensions are within 1..=[`MAX_COORD`].
    pub fn validate(&self) -> Result<(), FieldError> {
        in_range("size.width", self.width, 1, MAX_COORD)?;
        in_range("size.height", self.height, 1, MAX_COORD)?;
        Ok(())
    }
}

/// A solid color fill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ColorSource {
    pub color: Rgba,
}

/// An uploaded asset or an image on the web.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged, deny_unknown_fields)]
pub enum ImageSource {
    Asset {
        #[serde(rename = "assetId")]
        asset_id: Uuid,
    },
    Url {
        url: String,
    },
}

/// Text, rendered anti-aliased into the layer's box (wrapped at its width).
///
/// Every typographic field is optional: absent means the default (left, top, wrapped,
/// regular weight, no outline, shadow or background). The text itself is never read as
/// Pango markup (a tenant's `<span>` is shown as typed), and may hold live placeholders
/// (see [`crate::text_template`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TextSource {
    pub text: String,
    #[serde(default = "default_font_family")]
    pub font_family: String,
    #[serde(default = "default_font_size")]
    pub font_size: u32,
    #[serde(default = "default_text_color")]
    pub color: Rgba,
    /// Horizontal placement of each line in the box; default left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub align: Option<TextAlign>,
    /// Vertical placement of the text block in the box; default top.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertical_align: Option<VerticalAlign>,
    /// Wrap lines at the box's width (default true); false keeps each line whole (clipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrap: Option<bool>,
    /// Line spacing as a multiple of the font's (0.5 to 4; default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_height: Option<f32>,
    /// CSS-style weight 100 to 900 (400 regular, 700 bold).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font_weight: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub italic: Option<bool>,
    /// A line around each glyph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outline: Option<TextOutline>,
    /// A blurred, offset copy of the text (and outline) under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<crate::effect::Shadow>,
    /// A box drawn behind the text's ink.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<TextBackground>,
    /// Shrink the font (down to 4 px) until the text fits the box.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_fit: Option<bool>,
}

/// Horizontal text alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TextAlign {
    Left,
    Center,
    Right,
}

/// Vertical text alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum VerticalAlign {
    Top,
    Middle,
    Bottom,
}

/// A line around the glyphs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TextOutline {
    /// 1 to 32 pixels.
    pub width: u32,
    pub color: Rgba,
}

/// A box behind the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TextBackground {
    pub color: Rgba,
    /// Space between the ink and the box's edge, 0 to 512 pixels.
    #[serde(default)]
    pub padding: u32,
    /// Corner radius, 0 to 512 pixels.
    #[serde(default)]
    pub radius: u32,
}

impl TextSource {
    /// Plain text in the default look: what the node's own slates use.
    pub fn plain(text: impl Into<String>, font_size: u32, color: Rgba) -> Self {
        TextSource {
            text: text.into(),
            font_family: default_font_family(),
            font_size,
            color,
            align: None,
            vertical_align: None,
            wrap: None,
            line_height: None,
            font_weight: None,
            italic: None,
            outline: None,
            shadow: None,
            background: None,
            auto_fit: None,
        }
    }

    /// Checks the typographic fields (names are under `source.`).
    fn validate_typography(&self) -> Result<(), FieldError> {
        if let Some(lh) = self.line_height
            && (!lh.is_finite() || !(0.5..=4.0).contains(&lh))
        {
            return Err(FieldError::new(
                "source.lineHeight",
                format!("must be between 0.5 and 4, got {lh}"),
            ));
        }
        if let Some(w) = self.font_weight {
            in_range("source.fontWeight", w, 100, 900)?;
        }
        if let Some(o) = &self.outline {
            in_range("source.outline.width", o.width, 1, 32)?;
        }
        if let Some(s) = &self.shadow {
            crate::effect::Effect::Shadow(*s)
                .validate()
                .map_err(|e| e.within("source.shadow"))?;
        }
        if let Some(b) = &self.background {
            in_range("source.background.padding", b.padding, 0, 512)?;
            in_range("source.background.radius", b.radius, 0, 512)?;
        }
        crate::text_template::Template::parse(&self.text)
            .map_err(|e| FieldError::new("source.text", e.to_string()))?;
        Ok(())
    }
}

fn default_font_family() -> String {
    "Sans".to_owned()
}
fn default_font_size() -> u32 {
    48
}
fn default_text_color() -> Rgba {
    Rgba::WHITE
}

/// A video file or network stream, looped by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VideoSource {
    pub uri: String,
    #[serde(rename = "loop", default = "default_true")]
    pub looping: bool,
}

fn default_true() -> bool {
    true
}

/// A live source: the feed an encoder publishes with one of the tenant's stream keys
/// (`keyId`), or a stream the node pulls (`pull`: RTMP, SRT, an MP4 over HTTP(S)) — exactly
/// one of the two — and the fallback ladder the layer walks down when it stalls (see
/// [`crate::fallback`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IngestSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<Uuid>,
    /// A stream URL the node pulls and reconnects to by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull: Option<String>,
    /// Loops a pulled file (an MP4); live streams ignore it.
    #[serde(rename = "loop", default, skip_serializing_if = "Option::is_none")]
    pub looping: Option<bool>,
    /// Shown in turn when the source on air stalls; empty: the layer's own slate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallbacks: Vec<FallbackRung>,
    /// No frame for this long is a stall (default [`crate::fallback::DEFAULT_STALL_MS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stall_ms: Option<u32>,
    /// A higher rung must be healthy this long before the layer goes back to it
    /// (default [`crate::fallback::DEFAULT_RECOVER_MS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recover_ms: Option<u32>,
    /// Crossfade between rungs on a switch; absent or 0 cuts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crossfade_ms: Option<u32>,
}

impl IngestSource {
    /// The primary source as a rung (what the ladder starts on).
    pub fn primary(&self) -> FallbackRung {
        match (&self.pull, self.key_id) {
            (Some(url), _) => FallbackRung::Pull {
                pull: url.clone(),
                looping: self.looping,
            },
            (None, key_id) => FallbackRung::Ingest {
                key_id: key_id.unwrap_or_default(),
            },
        }
    }

    /// Checks the primary: a key or a pulled URL, not both.
    fn validate_primary(&self) -> Result<(), FieldError> {
        match (&self.key_id, &self.pull) {
            (Some(_), Some(_)) => Err(FieldError::new(
                "source",
                "names both a keyId and a pull URL: choose one",
            )),
            (None, None) => Err(FieldError::new("source", "needs a keyId or a pull URL")),
            (None, Some(url)) => check_pull_url("source.pull", url),
            (Some(_), None) if self.looping.is_some() => {
                Err(FieldError::new("source.loop", "only a pulled source loops"))
            }
            (Some(_), None) => Ok(()),
        }
    }
}

/// The kind-specific part of a layer; its shape depends on [`LayerKind`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum LayerSource {
    Color(ColorSource),
    Image(ImageSource),
    Text(TextSource),
    Video(VideoSource),
    Ingest(IngestSource),
}

impl LayerSource {
    /// The kind this source belongs to.
    pub fn kind(&self) -> LayerKind {
        match self {
            LayerSource::Color(_) => LayerKind::Color,
            LayerSource::Image(_) => LayerKind::Image,
            LayerSource::Text(_) => LayerKind::Text,
            LayerSource::Video(_) => LayerKind::Video,
            LayerSource::Ingest(_) => LayerKind::Ingest,
        }
    }

    /// Reads `source` as the shape `kind` requires and checks its values.
    /// Errors name the field under `source`.
    pub fn parse(kind: LayerKind, source: Value) -> Result<Self, FieldError> {
        fn shape<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, FieldError> {
            serde_json::from_value(v).map_err(|e| FieldError::new("source", e.to_string()))
        }
        let parsed = match kind {
            LayerKind::Color => LayerSource::Color(shape(source)?),
            LayerKind::Image => LayerSource::Image(shape(source)?),
            LayerKind::Text => LayerSource::Text(shape(source)?),
            LayerKind::Video => LayerSource::Video(shape(source)?),
            LayerKind::Ingest => {
                check_rung_shapes(&source)?;
                LayerSource::Ingest(shape(source)?)
            }
        };
        parsed.validate()?;
        Ok(parsed)
    }

    /// Checks value ranges that the shape alone does not express.
    pub fn validate(&self) -> Result<(), FieldError> {
        match self {
            LayerSource::Text(t) => {
                text_len("source.text", &t.text, 1, 500)?;
                text_len("source.fontFamily", &t.font_family, 1, 100)?;
                // Family names go into a Pango font description: keep them to plain names.
                if !t
                    .font_family
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == ' ' || c == '-' || c == '_')
                {
                    return Err(FieldError::new(
                        "source.fontFamily",
                        "may hold only letters, digits, spaces, '-' and '_'",
                    ));
                }
                in_range("source.fontSize", t.font_size, 4, 512)?;
                t.validate_typography()?;
            }
            LayerSource::Image(ImageSource::Url { url }) => {
                text_len("source.url", url, 1, 2048)?;
            }
            LayerSource::Video(v) => text_len("source.uri", &v.uri, 1, 2048)?,
            LayerSource::Color(_) | LayerSource::Image(ImageSource::Asset { .. }) => {}
            LayerSource::Ingest(i) => {
                i.validate_primary()?;
                validate_ladder(
                    &i.primary(),
                    &i.fallbacks,
                    i.stall_ms,
                    i.recover_ms,
                    i.crossfade_ms,
                )?
            }
        }
        Ok(())
    }

    /// The URL the node will fetch for this layer, with the name of its field, if any.
    pub fn media_url(&self) -> Option<(&'static str, &str)> {
        match self {
            LayerSource::Image(ImageSource::Url { url }) => Some(("source.url", url)),
            LayerSource::Video(v) => Some(("source.uri", &v.uri)),
            _ => None,
        }
    }

    /// The streams a live layer pulls (its primary and its ladder's pulled rungs), each
    /// with the name of its field.
    pub fn pulled_urls(&self) -> Vec<(String, &str)> {
        let LayerSource::Ingest(i) = self else {
            return Vec::new();
        };
        let primary = i.pull.as_deref().map(|u| ("source.pull".to_owned(), u));
        let rungs = i.fallbacks.iter().enumerate().filter_map(|(n, r)| match r {
            FallbackRung::Pull { pull, .. } => {
                Some((format!("source.fallbacks[{n}].pull"), pull.as_str()))
            }
            _ => None,
        });
        primary.into_iter().chain(rungs).collect()
    }
}

/// One element of a scene, as stored and as sent to render nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", try_from = "RawLayer")]
pub struct Layer {
    pub id: Uuid,
    pub scene_id: Uuid,
    pub name: String,
    pub kind: LayerKind,
    pub source: LayerSource,
    pub visible: bool,
    pub position: Position,
    pub size: Size,
    /// 0 is fully transparent, 1 fully opaque.
    pub opacity: f32,
    /// Higher values are drawn on top.
    pub z_index: i32,
    /// Effects applied to the layer's pixels, first to last.
    #[serde(default)]
    pub effects: Vec<Effect>,
    /// How the layer's sound (video files, ingest feeds) enters the programme.
    pub audio: LayerAudio,
}

/// The serialized form of a layer before its source is read according to its kind.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLayer {
    id: Uuid,
    scene_id: Uuid,
    name: String,
    kind: LayerKind,
    source: Value,
    visible: bool,
    position: Position,
    size: Size,
    opacity: f32,
    z_index: i32,
    #[serde(default)]
    effects: Vec<Effect>,
    #[serde(default)]
    audio: LayerAudio,
}

impl TryFrom<RawLayer> for Layer {
    type Error = FieldError;

    fn try_from(r: RawLayer) -> Result<Self, FieldError> {
        let layer = Layer {
            id: r.id,
            scene_id: r.scene_id,
            name: r.name,
            kind: r.kind,
            source: LayerSource::parse(r.kind, r.source)?,
            visible: r.visible,
            position: r.position,
            size: r.size,
            opacity: r.opacity,
            z_index: r.z_index,
            effects: r.effects,
            audio: r.audio,
        };
        layer.validate()?;
        Ok(layer)
    }
}

/// Checks a layer's opacity.
pub fn validate_opacity(opacity: f32) -> Result<(), FieldError> {
    if !(0.0..=1.0).contains(&opacity) {
        return Err(FieldError::new(
            "opacity",
            format!("must be between 0 and 1, got {opacity}"),
        ));
    }
    Ok(())
}

/// Checks a layer's z-index.
pub fn validate_z_index(z: i32) -> Result<(), FieldError> {
    in_range("zIndex", z, -10_000, 10_000).map(|_| ())
}

/// Checks a layer's name.
pub fn validate_name(name: &str) -> Result<(), FieldError> {
    crate::validation::display_name("name", name)
}

impl Layer {
    /// Checks every value of the layer.
    pub fn validate(&self) -> Result<(), FieldError> {
        validate_name(&self.name)?;
        if self.kind != self.source.kind() {
            return Err(FieldError::new("source", "does not match the layer's kind"));
        }
        self.source.validate()?;
        self.position.validate()?;
        self.size.validate()?;
        validate_opacity(self.opacity)?;
        validate_z_index(self.z_index)?;
        validate_effects(&self.effects)?;
        self.audio.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn layer_json(kind: &str, source: Value) -> Value {
        json!({
            "id": Uuid::nil(), "sceneId": Uuid::nil(), "name": "l", "kind": kind, "source": source,
            "visible": true, "position": {"x": 0, "y": 0}, "size": {"width": 10, "height": 10},
            "opacity": 1.0, "zIndex": 0, "effects": []
        })
    }

    #[test]
    fn every_kind_round_trips() {
        let sources = [
            ("color", json!({"color": "#FF0000"})),
            ("image", json!({"assetId": Uuid::nil()})),
            ("image", json!({"url": "https://example.com/a.png"})),
            (
                "text",
                json!({"text": "hi", "fontFamily": "Sans", "fontSize": 40, "color": "#FFFFFF"}),
            ),
            (
                "text",
                json!({"text": "{{clock:HH:mm}}", "fontFamily": "Sans", "fontSize": 40,
                    "color": "#FFFFFF", "align": "center", "verticalAlign": "middle",
                    "wrap": false, "lineHeight": 1.5, "fontWeight": 700, "italic": true,
                    "outline": {"width": 2, "color": "#000000"},
                    "shadow": {"offsetX": 2, "offsetY": 2, "blur": 4, "color": "#00000080"},
                    "background": {"color": "#202020C0", "padding": 8, "radius": 6},
                    "autoFit": true}),
            ),
            ("video", json!({"uri": "file:///m/a.mp4", "loop": false})),
            ("ingest", json!({"keyId": Uuid::nil()})),
            (
                "ingest",
                json!({"pull": "rtmp://example.com/live/x", "loop": false}),
            ),
            (
                "ingest",
                json!({"keyId": Uuid::nil(), "fallbacks": [{"keyId": Uuid::from_u128(1)},
                       {"slate": "default"}], "stallMs": 500, "recoverMs": 2000, "crossfadeMs": 200}),
            ),
        ];
        for (kind, source) in sources {
            let mut v = layer_json(kind, source.clone());
            let layer: Layer = serde_json::from_value(v.clone()).unwrap();
            // Layers stored before the mixer have the default fader.
            v["audio"] =
                json!({"volume": 1.0, "volumeDb": 0.0, "muted": false, "pan": 0.0, "delayMs": 0});
            assert_eq!(serde_json::to_value(&layer).unwrap(), v, "{kind}");
        }
    }

    #[test]
    fn source_must_match_kind() {
        let err = LayerSource::parse(LayerKind::Color, json!({"text": "x"})).unwrap_err();
        assert_eq!(err.field, "source");
        let err = LayerSource::parse(LayerKind::Text, json!({"text": ""})).unwrap_err();
        assert_eq!(err.field, "source.text");
        let err = LayerSource::parse(LayerKind::Text, json!({"text": "a", "fontFamily": "x<b>"}))
            .unwrap_err();
        assert_eq!(err.field, "source.fontFamily");
        assert!(LayerSource::parse(LayerKind::Image, json!({"assetId": "nope"})).is_err());
        let err = LayerSource::parse(
            LayerKind::Ingest,
            json!({"keyId": Uuid::nil(), "fallbacks": [{"slate": "default"}, {"keyId": Uuid::nil()}]}),
        )
        .unwrap_err();
        assert_eq!(err.field, "source.fallbacks[0]");
        let err = LayerSource::parse(
            LayerKind::Ingest,
            json!({"keyId": Uuid::nil(), "pull": "rtmp://example.com/live/x"}),
        )
        .unwrap_err();
        assert_eq!(err.field, "source");
        let err = LayerSource::parse(
            LayerKind::Ingest,
            json!({"pull": "https://cdn.example.com/a.m3u8?x=1"}),
        )
        .unwrap_err();
        assert_eq!(err.field, "source.pull");
        let err = LayerSource::parse(
            LayerKind::Ingest,
            json!({"keyId": Uuid::nil(), "fallbacks": [{"pull": "https://x.example.com/b.M3U8"}]}),
        )
        .unwrap_err();
        assert_eq!(err.field, "source.fallbacks[0].pull");
    }

    #[test]
    fn typography_out_of_range_names_its_field() {
        let cases = [
            (json!({"text": "a", "lineHeight": 9}), "source.lineHeight"),
            (json!({"text": "a", "fontWeight": 950}), "source.fontWeight"),
            (
                json!({"text": "a", "outline": {"width": 0, "color": "#000000"}}),
                "source.outline.width",
            ),
            (
                json!({"text": "a", "shadow": {"blur": 500}}),
                "source.shadow.blur",
            ),
            (
                json!({"text": "a", "background": {"color": "#000000", "padding": 9999}}),
                "source.background.padding",
            ),
            (json!({"text": "{{weather}}"}), "source.text"),
            (json!({"text": "a", "align": "justify"}), "source"),
        ];
        for (source, field) in cases {
            let err = LayerSource::parse(LayerKind::Text, source.clone()).unwrap_err();
            assert_eq!(err.field, field, "{source}");
        }
    }

    #[test]
    fn effects_are_checked_with_the_layer() {
        let mut v = layer_json("color", json!({"color": "#000000"}));
        v["effects"] = json!([{"type": "cornerRadius", "radius": -1}]);
        assert!(serde_json::from_value::<Layer>(v.clone()).is_err());
        v["effects"] = json!([{"type": "border", "width": 0, "color": "#000000"}]);
        let err = serde_json::from_value::<Layer>(v).unwrap_err().to_string();
        assert!(err.contains("effects[0].width"), "{err}");
    }

    #[test]
    fn out_of_range_values_name_their_field() {
        let mut v = layer_json("color", json!({"color": "#000000"}));
        v["opacity"] = json!(1.5);
        let err = serde_json::from_value::<Layer>(v).unwrap_err().to_string();
        assert!(err.contains("opacity"), "{err}");
        let mut v = layer_json("color", json!({"color": "#000000"}));
        v["audio"] = json!({"volume": 3});
        let err = serde_json::from_value::<Layer>(v).unwrap_err().to_string();
        assert!(err.contains("audio.volume"), "{err}");
    }
}
