//! The audio mixer's contract: a layer's fader (volume, mute, pan, A/V delay), the stream's
//! master volume, and the level meters a node publishes for a stream's sources and programme.
//!
//! Volumes are linear gains (0 silent, 1 unchanged, 2 = +6 dB) because that is what a slider
//! sends and what the node multiplies by; the dB readout is derived ([`gain_db`]) and shown
//! beside it. Meters travel on their own Redis channel at [`METER_HZ`] (see
//! `redis_link::events::meters_channel`): at that rate they would be most of a tenant's event
//! traffic, so only replicas with a socket that asked for them receive them, and nodes
//! publish them only while someone listens.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::validation::{FieldError, in_range};

/// Loudest per-layer and master gain: +6 dB, enough to lift a quiet guest.
pub const MAX_VOLUME: f32 = 2.0;
/// Largest A/V offset correction either way, in milliseconds.
pub const MAX_DELAY_MS: i32 = 500;
/// How often a node publishes meters while someone watches them.
pub const METER_HZ: u32 = 10;
/// The floor meters report for silence, in dBFS (JSON has no −∞).
pub const SILENCE_DB: f32 = -100.0;

/// A layer's fader: how its sound (video files, ingest feeds) enters the programme.
/// Layers without sound accept and keep it too, so a layer's source can change kind of
/// media without losing its fader. Answers also carry `volumeDb`, the volume in dB (`null`
/// at 0); it is ignored on input, so a client can send back what it was shown.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", from = "AudioIn", into = "AudioShown")]
pub struct LayerAudio {
    /// Linear gain, 0 to 2 (1 = unchanged, 0.5 ≈ −6 dB, 2 ≈ +6 dB); default 1.
    pub volume: f32,
    /// Silences the layer without losing its volume.
    pub muted: bool,
    /// −1 (left only) to 1 (right only); 0 keeps both channels as they are.
    pub pan: f32,
    /// A/V offset correction, −500 to 500 ms: positive plays the sound later.
    pub delay_ms: i32,
}

fn unity() -> f32 {
    1.0
}

impl Default for LayerAudio {
    fn default() -> Self {
        LayerAudio {
            volume: 1.0,
            muted: false,
            pan: 0.0,
            delay_ms: 0,
        }
    }
}

/// A fader as a client sends it: any field may be left out.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AudioIn {
    #[serde(default = "unity")]
    volume: f32,
    #[serde(default)]
    muted: bool,
    #[serde(default)]
    pan: f32,
    #[serde(default)]
    delay_ms: i32,
    /// Read-only: accepted so an answer can be sent back as it was received.
    #[serde(default, rename = "volumeDb")]
    _volume_db: Option<serde::de::IgnoredAny>,
}

impl From<AudioIn> for LayerAudio {
    fn from(a: AudioIn) -> Self {
        LayerAudio {
            volume: a.volume,
            muted: a.muted,
            pan: a.pan,
            delay_ms: a.delay_ms,
        }
    }
}

/// How answers show a fader: its values and the volume in dB.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AudioShown {
    volume: f32,
    volume_db: Option<f32>,
    muted: bool,
    pan: f32,
    delay_ms: i32,
}

impl From<LayerAudio> for AudioShown {
    fn from(a: LayerAudio) -> Self {
        AudioShown {
            volume: a.volume,
            volume_db: gain_db(a.volume),
            muted: a.muted,
            pan: a.pan,
            delay_ms: a.delay_ms,
        }
    }
}

/// A linear gain in dB, rounded to 0.1 dB; `None` for silence.
pub fn gain_db(gain: f32) -> Option<f32> {
    (gain > 0.0).then(|| (20.0 * gain.log10() * 10.0).round() / 10.0)
}

/// Checks a volume (layer or master) lies in 0..=[`MAX_VOLUME`].
pub fn validate_volume(field: &str, v: f32) -> Result<(), FieldError> {
    if !v.is_finite() {
        return Err(FieldError::new(field, "must be a number"));
    }
    in_range(field, v, 0.0, MAX_VOLUME).map(|_| ())
}

impl LayerAudio {
    /// Checks every value; errors name the field under `audio`.
    pub fn validate(&self) -> Result<(), FieldError> {
        validate_volume("audio.volume", self.volume)?;
        if !self.pan.is_finite() {
            return Err(FieldError::new("audio.pan", "must be a number"));
        }
        in_range("audio.pan", self.pan, -1.0, 1.0)?;
        in_range("audio.delayMs", self.delay_ms, -MAX_DELAY_MS, MAX_DELAY_MS)?;
        Ok(())
    }

    /// The (left, right) gains the node applies: 0 when muted; panning turns the far
    /// channel down (a balance control: the centre keeps the source as it is, so a pan of 0
    /// and a volume of 1 leave the sound untouched).
    pub fn channel_gains(&self) -> (f32, f32) {
        if self.muted {
            return (0.0, 0.0);
        }
        let pan = self.pan.clamp(-1.0, 1.0);
        (
            self.volume * (1.0 - pan).min(1.0),
            self.volume * (1.0 + pan).min(1.0),
        )
    }
}

/// A change to a fader: the fields sent change, the others keep their values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AudioPatch {
    /// Linear gain, 0 to 2.
    pub volume: Option<f32>,
    pub muted: Option<bool>,
    /// −1 to 1.
    pub pan: Option<f32>,
    /// −500 to 500 ms.
    pub delay_ms: Option<i32>,
    /// Read-only, ignored (answers carry it).
    #[serde(default, rename = "volumeDb")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f32>))]
    pub volume_db: Option<serde::de::IgnoredAny>,
}

impl AudioPatch {
    /// `current` with this patch's fields changed.
    pub fn apply(&self, current: LayerAudio) -> LayerAudio {
        LayerAudio {
            volume: self.volume.unwrap_or(current.volume),
            muted: self.muted.unwrap_or(current.muted),
            pan: self.pan.unwrap_or(current.pan),
            delay_ms: self.delay_ms.unwrap_or(current.delay_ms),
        }
    }

    /// Checks the fields it sets (each is checked on its own, so this holds for any fader it
    /// is applied to).
    pub fn validate(&self) -> Result<(), FieldError> {
        self.apply(LayerAudio::default()).validate()
    }
}

/// A level over one meter period, in dBFS ([`SILENCE_DB`] for silence).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Level {
    /// The loudest sample.
    pub peak_db: f32,
    /// The root mean square of the samples.
    pub rms_db: f32,
}

impl Level {
    /// A level from a linear peak and RMS (full scale = 1).
    pub fn from_linear(peak: f64, rms: f64) -> Self {
        let db = |x: f64| {
            if x > 0.0 {
                ((20.0 * x.log10()) as f32).max(SILENCE_DB)
            } else {
                SILENCE_DB
            }
        };
        Level {
            peak_db: db(peak),
            rms_db: db(rms),
        }
    }

    /// Nothing heard.
    pub fn silence() -> Self {
        Level {
            peak_db: SILENCE_DB,
            rms_db: SILENCE_DB,
        }
    }
}

/// One source's meter: its level after its fader, as it enters the programme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LayerLevel {
    pub layer_id: Uuid,
    #[serde(flatten)]
    pub level: Level,
}

/// The data of an `audio:levels` event: the programme (after the master volume) and every
/// layer that feeds sound into it, over the last meter period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AudioLevels {
    pub programme: Level,
    pub layers: Vec<LayerLevel>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_fill_what_is_left_out_and_answers_show_db() {
        let a: LayerAudio = serde_json::from_value(json!({"muted": true})).unwrap();
        assert_eq!(a.volume, 1.0);
        assert!(a.muted);
        let shown = serde_json::to_value(LayerAudio {
            volume: 0.5,
            ..LayerAudio::default()
        })
        .unwrap();
        assert_eq!(shown["volumeDb"], json!(-6.0));
        assert_eq!(shown["delayMs"], 0);
        // What was shown can be sent back.
        let back: LayerAudio = serde_json::from_value(shown).unwrap();
        assert_eq!(back.volume, 0.5);
        assert!(serde_json::from_value::<LayerAudio>(json!({"gain": 1})).is_err());
    }

    #[test]
    fn out_of_range_values_name_their_field() {
        let bad = |a: LayerAudio| a.validate().unwrap_err().field;
        let d = LayerAudio::default();
        assert_eq!(bad(LayerAudio { volume: 2.5, ..d }), "audio.volume");
        assert_eq!(bad(LayerAudio { volume: -0.1, ..d }), "audio.volume");
        assert_eq!(bad(LayerAudio { pan: 1.5, ..d }), "audio.pan");
        assert_eq!(
            bad(LayerAudio {
                delay_ms: -501,
                ..d
            }),
            "audio.delayMs"
        );
        assert!(LayerAudio { volume: 2.0, ..d }.validate().is_ok());
    }

    #[test]
    fn a_patch_changes_only_what_it_sends() {
        let p: AudioPatch = serde_json::from_value(json!({"muted": true})).unwrap();
        let was = LayerAudio {
            volume: 0.5,
            ..LayerAudio::default()
        };
        let now = p.apply(was);
        assert!(now.muted);
        assert_eq!(now.volume, 0.5);
        let bad: AudioPatch = serde_json::from_value(json!({"pan": -2})).unwrap();
        assert_eq!(bad.validate().unwrap_err().field, "audio.pan");
    }

    #[test]
    fn pan_is_a_balance_and_mute_silences() {
        let d = LayerAudio::default();
        assert_eq!(d.channel_gains(), (1.0, 1.0));
        assert_eq!(LayerAudio { pan: 1.0, ..d }.channel_gains(), (0.0, 1.0));
        assert_eq!(LayerAudio { pan: -0.5, ..d }.channel_gains(), (1.0, 0.5));
        assert_eq!(LayerAudio { muted: true, ..d }.channel_gains(), (0.0, 0.0));
    }

    #[test]
    fn levels_in_dbfs() {
        let l = Level::from_linear(1.0, 0.5);
        assert_eq!(l.peak_db, 0.0);
        assert!((l.rms_db + 6.02).abs() < 0.01);
        assert_eq!(Level::from_linear(0.0, 0.0), Level::silence());
        assert_eq!(gain_db(0.0), None);
        assert_eq!(gain_db(2.0), Some(6.0));
    }
}
