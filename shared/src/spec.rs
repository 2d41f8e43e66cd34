//! A stream's whole desired state: what a render node needs to build and update its pipeline.
//!
//! Commands carry the full state rather than deltas, so a node that missed a message catches
//! up from the next one, and a late or repeated message (lower or equal `version`) is ignored.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::layer::Layer;
use crate::scene::Scene;
use crate::stream_config::StreamConfig;
use crate::transition::{SceneTransition, Transition};

/// Whether the tenant wants the stream on air.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DesiredState {
    Stopped,
    Running,
    Paused,
}

impl DesiredState {
    /// The database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DesiredState::Stopped => "stopped",
            DesiredState::Running => "running",
            DesiredState::Paused => "paused",
        }
    }

    /// Parses the database spelling; unknown values read as stopped, the safe side.
    pub fn parse(s: &str) -> Self {
        match s {
            "running" => DesiredState::Running,
            "paused" => DesiredState::Paused,
            _ => DesiredState::Stopped,
        }
    }

    /// Whether a node should be running a pipeline for this stream.
    pub fn is_on_air(self) -> bool {
        matches!(self, DesiredState::Running | DesiredState::Paused)
    }
}

/// How the node should animate the change that produced this version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ChangeHint {
    /// A layer's geometry or opacity changed and should be tweened.
    #[serde(rename_all = "camelCase")]
    Layer {
        layer_id: Uuid,
        transition: Transition,
    },
    /// The active scene changed with this transition.
    #[serde(rename_all = "camelCase")]
    Scene {
        scene_id: Uuid,
        transition: SceneTransition,
    },
}

/// Everything a node needs to render a stream, at one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamSpec {
    pub stream_id: Uuid,
    pub tenant_id: String,
    /// Bumped on every change to the desired state; nodes apply only newer versions.
    pub version: i64,
    pub desired: DesiredState,
    pub config: StreamConfig,
    pub scenes: Vec<Scene>,
    pub active_scene_id: Uuid,
    pub layers: Vec<Layer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<ChangeHint>,
}

impl StreamSpec {
    /// Layers of the active scene, bottom first.
    pub fn active_layers(&self) -> Vec<&Layer> {
        let mut v: Vec<&Layer> = self
            .layers
            .iter()
            .filter(|l| l.scene_id == self.active_scene_id)
            .collect();
        v.sort_by_key(|l| l.z_index);
        v
    }
}
