//! Properties the fuzz targets share: what "parsed correctly" means for our wire types.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Asserts that `value` survives a JSON round trip unchanged: what one side serialises, the
/// other reads back as the same value (the control plane stores and sends these forms).
pub fn assert_json_round_trip<T>(value: &T) -> T
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let text = serde_json::to_string(value).expect("a parsed value serialises");
    let back: T = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{value:?} serialised as {text} does not parse back: {e}"));
    assert_eq!(&back, value, "JSON round trip changed the value ({text})");
    back
}
