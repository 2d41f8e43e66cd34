//! Per-layer visual effects: what a tenant may ask for and the ranges we accept.
//!
//! A layer's `effects` is a list applied in order to the layer's pixels (crop first, then
//! e.g. chroma key, then corners, border and shadow). Static layers (colour, image, text)
//! bake the list into their prepared sprite once per change; moving layers (video, ingest)
//! apply it to every frame. The render node's `compose::effects` implements them; this file
//! decides only their shape and limits, so the API refuses with 422 (naming the field, e.g.
//! `effects[1].similarity`) what the node would not draw.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::color::Rgba;
use crate::validation::{FieldError, in_range};

/// Most effects one layer may carry: each costs a pass over the layer's pixels.
pub const MAX_EFFECTS: usize = 16;

/// Largest blur or shadow radius, in pixels: a box blur costs the same at any radius, but a
/// radius past this hides the layer anyway.
pub const MAX_BLUR: u32 = 100;

/// One effect; the list on a layer is applied first to last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Effect {
    Crop(Crop),
    Rotate(Rotate),
    CornerRadius(CornerRadius),
    Border(Border),
    Shadow(Shadow),
    ChromaKey(ChromaKey),
    ColorAdjust(ColorAdjust),
    Blur(Blur),
    Mask(Mask),
    Flip(Flip),
}

/// Cuts pixels off each side of the source before it is scaled into the layer's box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Crop {
    /// Source pixels cut off the left side.
    pub left: u32,
    pub top: u32,
    pub right: u32,
    pub bottom: u32,
}

/// Turns the layer about its centre, clockwise; the drawn box grows to hold the turned
/// picture (a 90° turn of a 200×100 box draws 100×200 around the same centre).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Rotate {
    /// -360 to 360; multiples of 90 are exact (no resampling).
    pub degrees: f32,
}

/// Rounds the corners: what lies outside the rounding becomes transparent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CornerRadius {
    /// In box pixels, 0 to 4096 (clamped to half the shorter side when drawn).
    pub radius: u32,
}

/// A line drawn along the inside of the layer's edge (following rounded corners).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Border {
    /// 1 to 256 pixels.
    pub width: u32,
    pub color: Rgba,
}

/// A blurred, offset copy of the layer's silhouette drawn under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Shadow {
    /// -1024 to 1024 pixels, right positive.
    #[serde(default)]
    pub offset_x: i32,
    /// -1024 to 1024 pixels, down positive.
    #[serde(default)]
    pub offset_y: i32,
    /// Blur radius, 0 to [`MAX_BLUR`].
    #[serde(default)]
    pub blur: u32,
    #[serde(default = "black_half")]
    pub color: Rgba,
}

fn black_half() -> Rgba {
    Rgba {
        r: 0,
        g: 0,
        b: 0,
        a: 160,
    }
}

/// Makes pixels close to a key colour transparent (a green screen).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChromaKey {
    /// The colour to remove; default pure green.
    #[serde(default = "green")]
    pub color: Rgba,
    /// 0 to 1: how far (in chroma) from the key a colour is still removed entirely.
    #[serde(default = "default_similarity")]
    pub similarity: f32,
    /// 0 to 1: the width of the soft edge past `similarity`.
    #[serde(default = "default_smoothness")]
    pub smoothness: f32,
    /// 0 to 1: how much of the key colour's cast is taken out of the pixels that remain.
    #[serde(default = "default_spill")]
    pub spill: f32,
}

fn green() -> Rgba {
    Rgba {
        r: 0,
        g: 255,
        b: 0,
        a: 255,
    }
}
fn default_similarity() -> f32 {
    0.4
}
fn default_smoothness() -> f32 {
    0.08
}
fn default_spill() -> f32 {
    0.1
}

/// Brightness, contrast, saturation and gamma, applied in that order.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ColorAdjust {
    /// -1 to 1, added (0: unchanged).
    pub brightness: f32,
    /// 0 to 4, about mid grey (1: unchanged).
    pub contrast: f32,
    /// 0 to 4 (0: grey, 1: unchanged).
    pub saturation: f32,
    /// 0.1 to 10 (1: unchanged; above 1 brightens mid tones).
    pub gamma: f32,
}

impl Default for ColorAdjust {
    fn default() -> Self {
        ColorAdjust {
            brightness: 0.0,
            contrast: 1.0,
            saturation: 1.0,
            gamma: 1.0,
        }
    }
}

/// Blurs the layer's pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Blur {
    /// 0 to [`MAX_BLUR`] pixels.
    pub radius: u32,
}

/// Multiplies the layer's alpha by an uploaded image's alpha (scaled to the box).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Mask {
    pub asset_id: Uuid,
}

/// Mirrors the layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Flip {
    /// Left becomes right.
    pub horizontal: bool,
    /// Top becomes bottom.
    pub vertical: bool,
}

fn unit(field: &str, v: f32) -> Result<(), FieldError> {
    finite_in(field, v, 0.0, 1.0)
}

fn finite_in(field: &str, v: f32, min: f32, max: f32) -> Result<(), FieldError> {
    if !v.is_finite() {
        return Err(FieldError::new(field, "must be a number"));
    }
    in_range(field, v, min, max).map(|_| ())
}

impl Effect {
    /// Checks the effect's values; errors name the field within the effect.
    pub fn validate(&self) -> Result<(), FieldError> {
        const SIDE: u32 = crate::layer::MAX_COORD as u32;
        match self {
            Effect::Crop(c) => {
                in_range("left", c.left, 0, SIDE)?;
                in_range("top", c.top, 0, SIDE)?;
                in_range("right", c.right, 0, SIDE)?;
                in_range("bottom", c.bottom, 0, SIDE)?;
            }
            Effect::Rotate(r) => finite_in("degrees", r.degrees, -360.0, 360.0)?,
            Effect::CornerRadius(r) => {
                in_range("radius", r.radius, 0, 4096)?;
            }
            Effect::Border(b) => {
                in_range("width", b.width, 1, 256)?;
            }
            Effect::Shadow(s) => {
                in_range("offsetX", s.offset_x, -1024, 1024)?;
                in_range("offsetY", s.offset_y, -1024, 1024)?;
                in_range("blur", s.blur, 0, MAX_BLUR)?;
            }
            Effect::ChromaKey(k) => {
                unit("similarity", k.similarity)?;
                unit("smoothness", k.smoothness)?;
                unit("spill", k.spill)?;
            }
            Effect::ColorAdjust(c) => {
                finite_in("brightness", c.brightness, -1.0, 1.0)?;
                finite_in("contrast", c.contrast, 0.0, 4.0)?;
                finite_in("saturation", c.saturation, 0.0, 4.0)?;
                finite_in("gamma", c.gamma, 0.1, 10.0)?;
            }
            Effect::Blur(b) => {
                in_range("radius", b.radius, 0, MAX_BLUR)?;
            }
            Effect::Mask(_) | Effect::Flip(_) => {}
        }
        Ok(())
    }

    /// The uploaded asset the effect reads, if any.
    pub fn asset_id(&self) -> Option<Uuid> {
        match self {
            Effect::Mask(m) => Some(m.asset_id),
            _ => None,
        }
    }
}

/// Checks a layer's effect list; errors name e.g. `effects[2].radius`.
pub fn validate_effects(effects: &[Effect]) -> Result<(), FieldError> {
    if effects.len() > MAX_EFFECTS {
        return Err(FieldError::new(
            "effects",
            format!("at most {MAX_EFFECTS} effects, got {}", effects.len()),
        ));
    }
    for (i, e) in effects.iter().enumerate() {
        e.validate()
            .map_err(|err| err.within(&format!("effects[{i}]")))?;
    }
    Ok(())
}

/// Reads an `effects` value, naming the failing entry (`effects[1]`) when one is malformed.
pub fn parse_effects(v: serde_json::Value) -> Result<Vec<Effect>, FieldError> {
    let serde_json::Value::Array(items) = v else {
        return Err(FieldError::new("effects", "must be a list of effects"));
    };
    let effects = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            serde_json::from_value(item)
                .map_err(|e| FieldError::new(format!("effects[{i}]"), e.to_string()))
        })
        .collect::<Result<Vec<Effect>, _>>()?;
    validate_effects(&effects)?;
    Ok(effects)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn effects_parse_with_defaults_and_round_trip() {
        let v = json!([
            {"type": "crop", "left": 10},
            {"type": "chromaKey"},
            {"type": "rotate", "degrees": 90.0},
            {"type": "cornerRadius", "radius": 12},
            {"type": "border", "width": 4, "color": "#FFFFFF"},
            {"type": "shadow", "offsetX": 4, "offsetY": 4, "blur": 8},
            {"type": "colorAdjust", "saturation": 0.0},
            {"type": "blur", "radius": 3},
            {"type": "mask", "assetId": Uuid::nil()},
            {"type": "flip", "horizontal": true}
        ]);
        let effects = parse_effects(v).unwrap();
        assert_eq!(effects.len(), 10);
        assert_eq!(
            effects[1],
            Effect::ChromaKey(ChromaKey {
                color: green(),
                similarity: 0.4,
                smoothness: 0.08,
                spill: 0.1
            })
        );
        let again: Vec<Effect> =
            serde_json::from_value(serde_json::to_value(&effects).unwrap()).unwrap();
        assert_eq!(again, effects);
    }

    #[test]
    fn bad_values_name_their_field() {
        let err = parse_effects(json!([{"type": "flip"}, {"type": "chromaKey", "similarity": 2}]))
            .unwrap_err();
        assert_eq!(err.field, "effects[1].similarity");
        let err = parse_effects(json!([{"type": "blur", "radius": 1000}])).unwrap_err();
        assert_eq!(err.field, "effects[0].radius");
        let err = parse_effects(json!([{"type": "sparkles"}])).unwrap_err();
        assert_eq!(err.field, "effects[0]");
        let err = parse_effects(json!([{"type": "crop", "lft": 1}])).unwrap_err();
        assert_eq!(err.field, "effects[0]");
        let err = parse_effects(json!([{"type": "rotate", "degrees": 720}])).unwrap_err();
        assert_eq!(err.field, "effects[0].degrees");
        let many = vec![json!({"type": "flip"}); MAX_EFFECTS + 1];
        assert_eq!(parse_effects(json!(many)).unwrap_err().field, "effects");
    }
}
