//! `#RRGGBB` / `#RRGGBBAA` colors.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An sRGB color with straight (not premultiplied) alpha.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgba {
    pub r: u8,
    pub g: u8,
    pub b: u8,
    pub a: u8,
}

/// Why a color string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a color like #RRGGBB or #RRGGBBAA")]
pub struct ColorParseError;

impl Rgba {
    /// Opaque white, the default text color.
    pub const WHITE: Rgba = Rgba {
        r: 255,
        g: 255,
        b: 255,
        a: 255,
    };

    /// Packs the color as GStreamer's `0xAARRGGBB` ARGB word.
    pub fn to_argb(self) -> u32 {
        u32::from_be_bytes([self.a, self.r, self.g, self.b])
    }
}

impl FromStr for Rgba {
    type Err = ColorParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = s.strip_prefix('#').ok_or(ColorParseError)?;
        if !(hex.len() == 6 || hex.len() == 8) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ColorParseError);
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| ColorParseError);
        Ok(Rgba {
            r: byte(0)?,
            g: byte(2)?,
            b: byte(4)?,
            a: if hex.len() == 8 { byte(6)? } else { 255 },
        })
    }
}

impl fmt::Display for Rgba {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02X}{:02X}{:02X}", self.r, self.g, self.b)?;
        if self.a != 255 {
            write!(f, "{:02X}", self.a)?;
        }
        Ok(())
    }
}

impl Serialize for Rgba {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rgba {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Rgba {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^#([0-9a-fA-F]{6}|[0-9a-fA-F]{8})$"))
            .examples(["#FF0000", "#00000080"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Rgba {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms_and_round_trips() {
        let c: Rgba = "#ff8000".parse().unwrap();
        assert_eq!((c.r, c.g, c.b, c.a), (255, 128, 0, 255));
        assert_eq!(c.to_string(), "#FF8000");
        let c: Rgba = "#00000080".parse().unwrap();
        assert_eq!(c.a, 0x80);
        assert_eq!(c.to_string(), "#00000080");
        assert_eq!(c.to_argb(), 0x8000_0000);
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            "",
            "#",
            "red",
            "#fff",
            "#12345",
            "#1234567",
            "#gggggg",
            "ff0000",
            "#ff00ff00ff",
        ] {
            assert!(bad.parse::<Rgba>().is_err(), "{bad}");
        }
    }
}
