//! The standalone command's scene file: a forgiving form of [`StreamSpec`].
//!
//! ```json
//! {
//!   "config": { "STREAM_RESOLUTION": "1280x720", "TARGET_FPS": 30, "STREAM_BITRATE": "2500k" },
//!   "layers": [
//!     { "kind": "color", "source": { "color": "#202040" },
//!       "position": { "x": 0, "y": 0 }, "size": { "width": 1280, "height": 720 } },
//!     { "kind": "image", "source": { "url": "logo.png" }, "position": { "x": 40, "y": 40 },
//!       "size": { "width": 200, "height": 100 }, "opacity": 0.8 },
//!     { "kind": "text", "source": { "text": "LIVE", "fontSize": 48, "color": "#FFFFFF" },
//!       "position": { "x": 40, "y": 600 }, "size": { "width": 400, "height": 80 } },
//!     { "kind": "video", "source": { "uri": "clip.mp4", "loop": true },
//!       "position": { "x": 640, "y": 40 }, "size": { "width": 600, "height": 338 } }
//!   ]
//! }
//! ```
//!
//! - `config` takes the stream config's keys (`STREAM_RESOLUTION`, `TARGET_FPS`,
//!   `RENDER_QUALITY`, `MAX_LAYERS`, `STREAM_BITRATE`, `ENABLE_HARDWARE_ACCELERATION`,
//!   `outputs`); missing keys take their defaults (1920x1080, 30 fps, quality 3 = veryfast,
//!   4500k).
//! - A layer takes the API's layer fields. Only `kind`, `source` and `size` are required:
//!   `id` defaults to a new id, `name` to `KIND-N`, `visible` to true, `opacity` to 1,
//!   `position` to 0,0, `zIndex` to the layer's place in the list and `effects` to none.
//! - Image `url` and video `uri` may be plain paths, read relative to the scene file.
//!   A video `uri` of `testsrc://PATTERN` (e.g. `testsrc://ball`) shows a GStreamer test
//!   pattern instead of a file — a moving background that costs no decoding.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use shared::scene::{MAIN_SCENE, Scene};
use shared::spec::{DesiredState, StreamSpec};
use shared::stream_config::StreamConfig;
use uuid::Uuid;

/// A scene file that cannot be used, with the reason.
#[derive(Debug, thiserror::Error)]
pub enum SceneFileError {
    #[error("cannot read scene file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("scene file {path} is not valid JSON: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("scene file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// Reads and checks a scene file into a spec at version 1.
pub fn load(path: &Path) -> Result<StreamSpec, SceneFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| SceneFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    let base = path.parent().map(Path::to_owned).unwrap_or_default();
    parse(&text, &base).map_err(|e| match e {
        ParseError::Json(source) => SceneFileError::Json {
            path: path.to_owned(),
            source,
        },
        ParseError::Invalid(message) => SceneFileError::Invalid {
            path: path.to_owned(),
            message,
        },
    })
}

/// Why text did not parse as a scene.
#[derive(Debug)]
pub enum ParseError {
    Json(serde_json::Error),
    Invalid(String),
}

/// Parses scene JSON; relative media paths are read against `base`.
pub fn parse(text: &str, base: &Path) -> Result<StreamSpec, ParseError> {
    let root: Value = serde_json::from_str(text).map_err(ParseError::Json)?;
    let Value::Object(root) = root else {
        return Err(ParseError::Invalid(
            "must be a JSON object with \"layers\"".into(),
        ));
    };
    let mut config = match serde_json::to_value(StreamConfig::default()) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    match root.get("config") {
        None => {}
        Some(Value::Object(c)) => config.extend(c.clone()),
        Some(_) => return Err(ParseError::Invalid("\"config\" must be an object".into())),
    }
    let config: StreamConfig = serde_json::from_value(Value::Object(config))
        .map_err(|e| ParseError::Invalid(format!("config: {e}")))?;
    config
        .validate()
        .map_err(|e| ParseError::Invalid(format!("config: {e}")))?;
    let scene = Scene {
        id: Uuid::new_v4(),
        name: MAIN_SCENE.into(),
    };
    let raw_layers = match root.get("layers") {
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(ParseError::Invalid("\"layers\" must be an array".into())),
        None => return Err(ParseError::Invalid("\"layers\" is missing".into())),
    };
    if raw_layers.len() > config.max_layers as usize {
        return Err(ParseError::Invalid(format!(
            "{} layers, more than MAX_LAYERS ({})",
            raw_layers.len(),
            config.max_layers
        )));
    }
    let mut layers = Vec::new();
    for (i, raw) in raw_layers.into_iter().enumerate() {
        let Value::Object(mut l) = raw else {
            return Err(ParseError::Invalid(format!("layer {i} must be an object")));
        };
        let kind = l
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("layer")
            .to_owned();
        l.entry("id").or_insert_with(|| json!(Uuid::new_v4()));
        l.entry("sceneId").or_insert_with(|| json!(scene.id));
        l.entry("name")
            .or_insert_with(|| json!(format!("{kind}-{i}")));
        l.entry("visible").or_insert(json!(true));
        l.entry("opacity").or_insert(json!(1.0));
        l.entry("zIndex").or_insert(json!(i));
        l.entry("position").or_insert(json!({"x": 0, "y": 0}));
        if let Some(Value::Object(src)) = l.get_mut("source") {
            for key in ["url", "uri"] {
                if let Some(Value::String(u)) = src.get_mut(key) {
                    *u = resolve_media(u, base);
                }
            }
        }
        let name = l
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let layer = serde_json::from_value(Value::Object(l))
            .map_err(|e| ParseError::Invalid(format!("layer {i} ({name:?}): {e}")))?;
        layers.push(layer);
    }
    Ok(StreamSpec {
        stream_id: Uuid::new_v4(),
        tenant_id: "local".into(),
        version: 1,
        desired: DesiredState::Running,
        config,
        active_scene_id: scene.id,
        scenes: vec![scene],
        layers,
        change: None,
    })
}

/// A plain path becomes an absolute `file://` URI; URIs stay as they are.
fn resolve_media(u: &str, base: &Path) -> String {
    if u.contains("://") {
        return u.to_owned();
    }
    let p = Path::new(u);
    let abs = if p.is_absolute() {
        p.to_owned()
    } else {
        base.join(p)
    };
    let abs = std::path::absolute(&abs).unwrap_or(abs);
    format!("file://{}", abs.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_in_and_paths_resolve() {
        let spec = parse(
            r##"{"config": {"STREAM_RESOLUTION": "640x360"}, "layers": [
                {"kind": "color", "source": {"color": "#ff0000"}, "size": {"width": 10, "height": 10}},
                {"kind": "image", "source": {"url": "a.png"}, "size": {"width": 10, "height": 10}}
            ]}"##,
            Path::new("/scenes"),
        )
        .unwrap();
        assert_eq!(spec.config.resolution.width, 640);
        assert_eq!(spec.config.target_fps, 30);
        assert_eq!(spec.active_layers().len(), 2);
        assert_eq!(spec.layers[1].z_index, 1);
        match &spec.layers[1].source {
            shared::layer::LayerSource::Image(shared::layer::ImageSource::Url { url }) => {
                assert_eq!(url, "file:///scenes/a.png")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_name_the_layer_and_field() {
        let err = parse(
            r##"{"layers": [{"kind": "color", "source": {"color": "#ff0000"}, "size": {"width": 10, "height": 10}, "opacity": 3}]}"##,
            Path::new("."),
        )
        .unwrap_err();
        match err {
            ParseError::Invalid(m) => {
                assert!(m.contains("layer 0") && m.contains("opacity"), "{m}")
            }
            ParseError::Json(e) => panic!("{e}"),
        }
        assert!(matches!(
            parse("[1]", Path::new(".")),
            Err(ParseError::Invalid(_))
        ));
        assert!(matches!(
            parse("{", Path::new(".")),
            Err(ParseError::Json(_))
        ));
        assert!(matches!(
            parse(
                r#"{"config": {"TARGET_FPS": 0}, "layers": []}"#,
                Path::new(".")
            ),
            Err(ParseError::Invalid(_))
        ));
    }
}
