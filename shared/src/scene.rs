//! A scene: a named group of layers; one scene per stream is on air at a time.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::validation::FieldError;

/// The scene every stream is created with, active by default.
pub const MAIN_SCENE: &str = "main";

/// A named set of layers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Scene {
    pub id: Uuid,
    pub name: String,
}

/// Checks a scene name: short, printable.
pub fn validate_scene_name(name: &str) -> Result<(), FieldError> {
    crate::validation::display_name("name", name)
}
