//! How a change animates: easing curves, layer transitions and scene transitions.

use serde::{Deserialize, Serialize};

use crate::validation::{FieldError, in_range};

/// Longest animation we accept; longer ones are almost always a unit mistake (seconds sent as ms).
pub const MAX_TRANSITION_MS: u32 = 60_000;

/// The timing curve of an animation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Easing {
    #[default]
    Linear,
    EaseIn,
    EaseOut,
    EaseInOut,
}

impl Easing {
    /// Maps linear progress `t` in `0..=1` to eased progress in `0..=1` (cubic curves).
    pub fn apply(self, t: f64) -> f64 {
        let t = t.clamp(0.0, 1.0);
        match self {
            Easing::Linear => t,
            Easing::EaseIn => t * t * t,
            Easing::EaseOut => 1.0 - (1.0 - t).powi(3),
            Easing::EaseInOut => {
                if t < 0.5 {
                    4.0 * t * t * t
                } else {
                    1.0 - (-2.0 * t + 2.0).powi(3) / 2.0
                }
            }
        }
    }
}

/// Animates a layer change (position, size, opacity) instead of applying it at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Transition {
    pub duration_ms: u32,
    #[serde(default)]
    pub easing: Easing,
}

impl Transition {
    /// Checks the duration bound.
    pub fn validate(&self) -> Result<(), FieldError> {
        in_range("durationMs", self.duration_ms, 0, MAX_TRANSITION_MS)?;
        Ok(())
    }
}

/// How the output goes from one scene to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SceneTransitionKind {
    #[default]
    Cut,
    Fade,
    Slide,
}

/// A scene switch: cut, or a fade/slide over `durationMs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SceneTransition {
    #[serde(rename = "type", default)]
    pub kind: SceneTransitionKind,
    #[serde(default)]
    pub duration_ms: u32,
    #[serde(default)]
    pub easing: Easing,
}

impl SceneTransition {
    /// Checks the duration bound.
    pub fn validate(&self) -> Result<(), FieldError> {
        in_range("durationMs", self.duration_ms, 0, MAX_TRANSITION_MS)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn easings_start_at_zero_end_at_one_and_are_monotonic() {
        for e in [
            Easing::Linear,
            Easing::EaseIn,
            Easing::EaseOut,
            Easing::EaseInOut,
        ] {
            assert!(e.apply(0.0).abs() < 1e-9);
            assert!((e.apply(1.0) - 1.0).abs() < 1e-9);
            let mut prev = 0.0;
            for i in 1..=100 {
                let v = e.apply(f64::from(i) / 100.0);
                assert!(v >= prev, "{e:?} not monotonic at {i}");
                prev = v;
            }
        }
        assert!(Easing::EaseIn.apply(0.5) < 0.5 && Easing::EaseOut.apply(0.5) > 0.5);
    }

    #[test]
    fn parses_wire_form() {
        let t: SceneTransition =
            serde_json::from_str(r#"{"type":"fade","durationMs":500,"easing":"ease-in-out"}"#)
                .unwrap();
        assert_eq!(t.kind, SceneTransitionKind::Fade);
        assert_eq!(t.easing, Easing::EaseInOut);
        assert!(serde_json::from_str::<SceneTransition>(r#"{"type":"wipe"}"#).is_err());
    }
}
