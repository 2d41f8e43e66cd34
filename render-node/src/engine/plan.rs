//! Turns a new desired state into a compositor [`Plan`] by diffing it against the last one.
//!
//! Runs on the caller's thread, never on the render thread: fetching and decoding images,
//! rendering text and starting decoders can take much longer than a frame. Layers whose
//! source did not change keep their content (and prepared sprite) in the compositor.

use std::collections::HashSet;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use shared::layer::{ImageSource, Layer, LayerSource};
use shared::media_url::{MediaPolicy, UrlUse};
use shared::spec::{ChangeHint, StreamSpec};
use shared::transition::SceneTransition;
use uuid::Uuid;

use super::events::{EventSink, NodeEvent};
use crate::compose::layer::LayerContent;
use crate::compose::tween::Geometry;
use crate::compose::{Plan, PlannedContent, PlannedLayer};
use crate::error::{RenderError, Result};
use crate::pipeline::audio::AudioPort;
use crate::sources::image::ImageCache;
use crate::sources::ingest::{FeedRequest, IngestFeeds, slate};
use crate::sources::text::render_text;
use crate::sources::video::{AppsinkSource, MovingKind};

/// What loading layer content needs from the node.
#[derive(Clone)]
pub struct LoadContext {
    pub images: Arc<ImageCache>,
    pub feeds: Arc<dyn IngestFeeds>,
    /// `None` trusts every URL (the standalone command renders the operator's own files).
    pub policy: Option<MediaPolicy>,
    /// The control-plane replicas' base URLs, for image layers that name an uploaded asset.
    pub asset_bases: Vec<String>,
    /// Signs asset URLs (`NODE_SECRET`).
    pub asset_key: Option<SecretString>,
}

impl std::fmt::Debug for LoadContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadContext")
            .field("policy", &self.policy)
            .field("asset_bases", &self.asset_bases)
            .field("asset_key", &self.asset_key.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

/// Remembers the state on air and plans the way to the next one.
pub struct Planner {
    ctx: LoadContext,
    fps: u32,
    live: bool,
    audio: Option<AudioPort>,
    events: EventSink,
    current: Option<StreamSpec>,
    /// Layers whose content failed to load: tried again on the next change.
    failed: HashSet<Uuid>,
}

impl Planner {
    /// A planner for a stream at `fps`; `live` paces moving sources on the clock.
    pub fn new(
        ctx: LoadContext,
        fps: u32,
        live: bool,
        audio: Option<AudioPort>,
        events: EventSink,
    ) -> Self {
        Planner {
            ctx,
            fps,
            live,
            audio,
            events,
            current: None,
            failed: HashSet::new(),
        }
    }

    /// The plan from the state on air to `spec`; `spec` becomes the state on air.
    pub fn plan(&mut self, spec: &StreamSpec) -> Plan {
        let previous = self.current.take();
        let same_scene = previous.as_ref().map(|c| c.active_scene_id) == Some(spec.active_scene_id);
        let scene_transition = match &spec.change {
            Some(ChangeHint::Scene { transition, .. }) => *transition,
            _ => SceneTransition::default(),
        };
        let layer_hint = match &spec.change {
            Some(ChangeHint::Layer {
                layer_id,
                transition,
            }) => Some((*layer_id, *transition)),
            _ => None,
        };
        let mut layers = Vec::new();
        for layer in spec.active_layers() {
            let old = if same_scene {
                previous
                    .as_ref()
                    .and_then(|c| c.layers.iter().find(|l| l.id == layer.id))
            } else {
                None
            };
            let keep =
                old.is_some_and(|o| same_content(o, layer)) && !self.failed.contains(&layer.id);
            let content = if keep {
                PlannedContent::Keep
            } else {
                PlannedContent::Replace(self.load(layer, &spec.tenant_id))
            };
            let transition = match layer_hint {
                Some((id, t)) if id == layer.id && old.is_some() && t.duration_ms > 0 => Some(t),
                _ => None,
            };
            layers.push(PlannedLayer {
                id: layer.id,
                z: layer.z_index,
                visible: layer.visible,
                target: Geometry::of(layer),
                transition,
                content,
            });
        }
        self.current = Some(spec.clone());
        Plan {
            scene_id: spec.active_scene_id,
            scene_transition,
            layers,
        }
    }

    /// The content of one layer, or `Nothing` (reported) when it cannot be loaded.
    fn load(&mut self, layer: &Layer, tenant: &str) -> LayerContent {
        match self.try_load(layer, tenant) {
            Ok(c) => {
                self.failed.remove(&layer.id);
                c
            }
            Err(e) => {
                self.failed.insert(layer.id);
                self.events.send(NodeEvent::LayerError {
                    layer_id: layer.id,
                    message: e.to_string(),
                });
                LayerContent::Nothing
            }
        }
    }

    fn check_url(&self, field: &str, url: &str, what: UrlUse) -> Result<()> {
        if let Some(p) = &self.ctx.policy {
            let checked = p
                .check_reachable(field, url, what)
                .map_err(|e| RenderError::Refused(e.to_string()))?;
            if checked.scheme() == "file" {
                file_stays_inside(p, field, checked.to_file_path().ok())?;
            }
        }
        Ok(())
    }

    fn try_load(&self, layer: &Layer, tenant: &str) -> Result<LayerContent> {
        let (w, h) = (
            layer.size.width.max(1) as u32,
            layer.size.height.max(1) as u32,
        );
        Ok(match &layer.source {
            LayerSource::Color(c) => LayerContent::Solid(c.color),
            LayerSource::Image(ImageSource::Url { url }) => {
                self.check_url("source.url", url, UrlUse::Image)?;
                LayerContent::Bitmap(self.ctx.images.load(url)?)
            }
            LayerSource::Image(ImageSource::Asset { asset_id }) => {
                let sig = self
                    .ctx
                    .asset_key
                    .as_ref()
                    .map(|k| shared::node_api::asset_signature(k.expose_secret(), *asset_id))
                    .unwrap_or_default();
                // Any replica serves any asset: a replica that is down costs a retry, not
                // the layer.
                let mut last = RenderError::InvalidSpec(
                    "image assets need CONTROL_PLANE_URL to be set".into(),
                );
                for base in &self.ctx.asset_bases {
                    let url = shared::node_api::paths::asset_url(base, *asset_id, &sig);
                    match self.ctx.images.load(&url) {
                        Ok(image) => return Ok(LayerContent::Bitmap(image)),
                        Err(e) => last = e,
                    }
                }
                return Err(last);
            }
            LayerSource::Text(t) => LayerContent::Bitmap(Arc::new(render_text(
                t,
                w,
                h,
                shared::color::Rgba {
                    r: 0,
                    g: 0,
                    b: 0,
                    a: 0,
                },
            )?)),
            LayerSource::Video(v) => {
                let kind = MovingKind::from_uri(&v.uri, v.looping);
                if matches!(kind, MovingKind::Uri { .. }) {
                    self.check_url("source.uri", &v.uri, UrlUse::Video)?;
                }
                let audio = match (&self.audio, self.live) {
                    (Some(port), true) => port.add_input().ok(),
                    _ => None,
                };
                let (w, h) = (w.next_multiple_of(2), h.next_multiple_of(2));
                let src = AppsinkSource::start(
                    &kind,
                    w,
                    h,
                    self.fps,
                    self.live,
                    audio,
                    self.events.source_errors(),
                )?;
                LayerContent::Live(Box::new(src))
            }
            LayerSource::Ingest(i) => {
                let req = FeedRequest {
                    key_id: i.key_id,
                    tenant_id: tenant.to_owned(),
                    width: w.next_multiple_of(2),
                    height: h.next_multiple_of(2),
                    audio: self.audio.clone().filter(|_| self.live),
                    on_error: self.events.source_errors(),
                };
                match self.ctx.feeds.open(req) {
                    Some(feed) => LayerContent::Live(feed),
                    None => LayerContent::Bitmap(slate(w, h)),
                }
            }
        })
    }
}

/// Whether a layer's content can be kept as it is (geometry may still differ).
fn same_content(old: &Layer, new: &Layer) -> bool {
    if old.source != new.source {
        return false;
    }
    match new.source {
        // Text is rendered into its box: a new box size needs a new rendering.
        LayerSource::Text(_) => old.size == new.size,
        _ => true,
    }
}

/// The policy reads a `file://` path as written; a symlink inside `MEDIA_ROOT` can still
/// point anywhere on the node, so the path is resolved before anything opens it. A path
/// that cannot be resolved (missing, unreadable) is refused the same way: no detail about
/// the node's filesystem reaches the tenant.
fn file_stays_inside(
    policy: &MediaPolicy,
    field: &str,
    path: Option<std::path::PathBuf>,
) -> Result<()> {
    let inside = match (&policy.media_root, path) {
        (Some(root), Some(path)) => shared::media_url::canonical_inside(root, &path),
        _ => false,
    };
    if inside {
        Ok(())
    } else {
        Err(RenderError::Refused(format!(
            "{field}: file is not readable inside the media root"
        )))
    }
}
