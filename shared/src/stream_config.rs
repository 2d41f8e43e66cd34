//! A stream's output settings: the seed's `STREAM_*` keys plus RTMP destinations.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::validation::{FieldError, in_range};

/// Most RTMP destinations one stream may simulcast to.
pub const MAX_OUTPUTS: usize = 8;

/// Output canvas size in pixels, written `WIDTHxHEIGHT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Resolution {
    pub width: u32,
    pub height: u32,
}

impl FromStr for Resolution {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (w, h) = s
            .split_once('x')
            .ok_or_else(|| format!("must look like 1920x1080, got {s:?}"))?;
        let parse = |p: &str| -> Result<u32, String> {
            if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("must look like 1920x1080, got {s:?}"));
            }
            p.parse()
                .map_err(|_| format!("must look like 1920x1080, got {s:?}"))
        };
        let (width, height) = (parse(w)?, parse(h)?);
        // H.264 with 4:2:0 chroma needs even dimensions.
        if !(160..=3840).contains(&width) || !(90..=2160).contains(&height) {
            return Err(format!("must be between 160x90 and 3840x2160, got {s}"));
        }
        if width % 2 != 0 || height % 2 != 0 {
            return Err(format!("width and height must be even, got {s}"));
        }
        Ok(Resolution { width, height })
    }
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

/// Video bitrate, written like `4500k` or `6M` (a bare number is kbit/s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bitrate {
    pub kbps: u32,
}

impl FromStr for Bitrate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("must look like 4500k or 6M, got {s:?}");
        let (digits, mult) = match s.as_bytes().last() {
            Some(b'k' | b'K') => (&s[..s.len() - 1], 1),
            Some(b'M' | b'm') => (&s[..s.len() - 1], 1000),
            _ => (s, 1),
        };
        if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: u32 = digits.parse().map_err(|_| bad())?;
        let kbps = n.checked_mul(mult).ok_or_else(bad)?;
        if !(100..=50_000).contains(&kbps) {
            return Err(format!("must be between 100k and 50M, got {s}"));
        }
        Ok(Bitrate { kbps })
    }
}

impl fmt::Display for Bitrate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}k", self.kbps)
    }
}

macro_rules! string_serde {
    ($t:ty, $example:literal) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $t {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .examples([$example])
                    .into()
            }
        }
        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $t {}
    };
}
string_serde!(Resolution, "1920x1080");
string_serde!(Bitrate, "4500k");

/// The settings that shape a stream's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    #[serde(rename = "STREAM_RESOLUTION")]
    pub resolution: Resolution,
    #[serde(rename = "TARGET_FPS")]
    pub target_fps: u32,
    /// 1 (fastest encode, lowest quality) to 9 (slowest, best); maps to x264 presets.
    #[serde(rename = "RENDER_QUALITY")]
    pub render_quality: u32,
    #[serde(rename = "MAX_LAYERS")]
    pub max_layers: u32,
    #[serde(rename = "STREAM_BITRATE")]
    pub bitrate: Bitrate,
    #[serde(rename = "ENABLE_HARDWARE_ACCELERATION")]
    pub hardware_acceleration: bool,
    /// RTMP destinations; several means simulcast.
    #[serde(default)]
    pub outputs: Vec<String>,
    /// The programme's linear gain after the layers are mixed, 0 to 2 (default 1).
    #[serde(rename = "masterVolume", default = "unity")]
    pub master_volume: f32,
}

fn unity() -> f32 {
    1.0
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            resolution: Resolution {
                width: 1920,
                height: 1080,
            },
            target_fps: 30,
            render_quality: 3,
            max_layers: 16,
            bitrate: Bitrate { kbps: 4500 },
            hardware_acceleration: false,
            outputs: Vec::new(),
            master_volume: 1.0,
        }
    }
}

/// x264 `speed-preset` names indexed by `RENDER_QUALITY - 1`.
const X264_PRESETS: [&str; 9] = [
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
];

impl StreamConfig {
    /// Checks ranges the types do not express. Output URLs are checked by [`crate::media_url`].
    pub fn validate(&self) -> Result<(), FieldError> {
        in_range("TARGET_FPS", self.target_fps, 1, 60)?;
        in_range("RENDER_QUALITY", self.render_quality, 1, 9)?;
        in_range("MAX_LAYERS", self.max_layers, 1, 64)?;
        crate::audio::validate_volume("masterVolume", self.master_volume)?;
        if self.outputs.len() > MAX_OUTPUTS {
            return Err(FieldError::new(
                "outputs",
                format!(
                    "at most {MAX_OUTPUTS} destinations, got {}",
                    self.outputs.len()
                ),
            ));
        }
        Ok(())
    }

    /// The x264 speed preset for `RENDER_QUALITY`.
    pub fn x264_preset(&self) -> &'static str {
        let i = self.render_quality.clamp(1, 9) as usize - 1;
        X264_PRESETS[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_parses_and_bounds() {
        assert_eq!("1280x720".parse::<Resolution>().unwrap().width, 1280);
        for bad in [
            "",
            "1280",
            "x720",
            "1280x",
            "-1x2",
            "1281x720",
            "99999x720",
            "1e3x720",
            "1280X720",
            "1280x720x3",
        ] {
            assert!(bad.parse::<Resolution>().is_err(), "{bad}");
        }
    }

    #[test]
    fn bitrate_parses_units() {
        assert_eq!("4500k".parse::<Bitrate>().unwrap().kbps, 4500);
        assert_eq!("6M".parse::<Bitrate>().unwrap().kbps, 6000);
        assert_eq!("2500".parse::<Bitrate>().unwrap().kbps, 2500);
        for bad in [
            "",
            "k",
            "-5k",
            "99M",
            "1.5M",
            "10",
            "4294967295k",
            "999999M",
        ] {
            assert!(bad.parse::<Bitrate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn config_uses_the_seed_keys() {
        let v = serde_json::to_value(StreamConfig::default()).unwrap();
        assert_eq!(v["STREAM_RESOLUTION"], "1920x1080");
        assert_eq!(v["STREAM_BITRATE"], "4500k");
        assert_eq!(StreamConfig::default().x264_preset(), "veryfast");
        assert_eq!(v["masterVolume"], 1.0);
        let mut old = v.clone();
        old.as_object_mut().unwrap().remove("masterVolume");
        let c: StreamConfig = serde_json::from_value(old).unwrap();
        assert_eq!(c.master_volume, 1.0, "configs stored before the mixer");
        let loud = StreamConfig {
            master_volume: 2.5,
            ..StreamConfig::default()
        };
        assert_eq!(loud.validate().unwrap_err().field, "masterVolume");
    }
}
