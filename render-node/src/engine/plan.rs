//! Turns a new desired state into a compositor [`Plan`] by diffing it against the last one.
//!
//! Runs on the caller's thread, never on the render thread: fetching and decoding images,
//! rendering text and starting decoders can take much longer than a frame. Layers whose
//! source did not change keep their content (and prepared sprite) in the compositor.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use shared::effect::{Crop, Effect};
use shared::fallback::{DEFAULT_RECOVER_MS, DEFAULT_STALL_MS, FallbackRung, SlateRef};
use shared::layer::{ImageSource, IngestSource, Layer, LayerSource};
use shared::media_url::{MediaPolicy, UrlUse};
use shared::spec::{ChangeHint, StreamSpec};
use shared::text_template::Template;
use shared::transition::SceneTransition;
use uuid::Uuid;

use super::events::{EventSink, NodeEvent};
use crate::compose::FrameSource;
use crate::compose::cost;
use crate::compose::effects::{EffectChain, total_crop};
use crate::compose::layer::LayerContent;
use crate::compose::tween::Geometry;
use crate::compose::{Plan, PlannedContent, PlannedLayer};
use crate::error::{RenderError, Result};
use crate::pipeline::audio::AudioPort;
use crate::sources::fallback::{FallbackSource, Rung, StillSource, Timings};
use crate::sources::guard::{MEDIA_NOT_LOADED, check_before_open};
use crate::sources::image::ImageCache;
use crate::sources::ingest::{FeedRequest, IngestFeeds, slate};
use crate::sources::pull::{PullRequest, PulledSource};
use crate::sources::text::{TickingText, render_text, text_box};
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
    /// Bytes of pictures one stream may hold (`compose::cost`); `None`: no limit.
    pub memory_budget: Option<u64>,
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
    /// The canvas (width, height) the stream renders.
    canvas: (u32, u32),
    /// Bytes each layer on air holds beyond what its box says (decoded images).
    loaded: HashMap<Uuid, u64>,
    /// Set when the last plan's pictures did not fit the memory budget: why.
    over_budget: Option<String>,
}

impl Planner {
    /// A planner for a stream on a `canvas` at `fps`; `live` paces moving sources on the
    /// clock.
    pub fn new(
        ctx: LoadContext,
        canvas: (u32, u32),
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
            canvas,
            loaded: HashMap::new(),
            over_budget: None,
        }
    }

    /// Why the last plan's pictures exceed the stream's memory budget, if they do (layers
    /// past the budget were not loaded).
    pub fn over_budget(&self) -> Option<&str> {
        self.over_budget.as_deref()
    }

    /// The plan from the state on air to `spec`; `spec` becomes the state on air.
    pub fn plan(&mut self, spec: &StreamSpec) -> Plan {
        // Faders first, so inputs started below begin at their layer's volume.
        if let Some(port) = &self.audio {
            port.mix()
                .apply(spec.active_layers().into_iter(), spec.config.master_volume);
        }
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
        let mut total = 0u64;
        let mut loaded = HashMap::new();
        let budget = self.ctx.memory_budget;
        let fits = move |bytes: u64| budget.is_none_or(|b| bytes <= b);
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
            // Counted before loading, so a stream past its budget stops loading rather than
            // allocating first.
            let upfront = cost::before_loading(layer, self.canvas);
            let content = if keep {
                let held = self.loaded.get(&layer.id).copied().unwrap_or(0);
                loaded.insert(layer.id, held);
                total += upfront + held;
                PlannedContent::Keep
            } else if fits(total + upfront) {
                let content = self.load(layer, &spec.tenant_id);
                let held = cost::loaded(layer, &content);
                loaded.insert(layer.id, held);
                total += upfront + held;
                PlannedContent::Replace(content)
            } else {
                total += upfront;
                PlannedContent::Replace(LayerContent::Nothing)
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
                effects: self.effects_of(layer),
            });
        }
        self.loaded = loaded;
        self.over_budget = self.ctx.memory_budget.filter(|b| total > *b).map(|b| {
            format!(
                "the stream's layers need about {} MiB of pictures, over its memory budget of {} MiB",
                total.div_ceil(1 << 20),
                b >> 20
            )
        });
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
                tracing::warn!(stream_id = %self.events.stream_id(), layer_id = %layer.id,
                    error = %e, "layer not loaded");
                self.events.send(NodeEvent::LayerError {
                    layer_id: layer.id,
                    message: tenant_message(layer, &e),
                });
                LayerContent::Nothing
            }
        }
    }

    fn check_url(&self, field: &str, url: &str, what: UrlUse) -> Result<()> {
        match &self.ctx.policy {
            Some(p) => check_before_open(p, field, url, what),
            None => Ok(()),
        }
    }

    /// The size a moving layer's decoder scales into: its box, at most twice the canvas
    /// (what the compositor asks for when it draws), even.
    fn moving_size(&self, w: u32, h: u32) -> (u32, u32) {
        let (cw, ch) = self.canvas;
        (
            w.min(2 * cw).next_multiple_of(2),
            h.min(2 * ch).next_multiple_of(2),
        )
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
                LayerContent::Bitmap(self.load_asset(*asset_id)?)
            }
            LayerSource::Text(t) => {
                let (tw, th) = text_box(w, h, self.canvas);
                let transparent = shared::color::Rgba {
                    r: 0,
                    g: 0,
                    b: 0,
                    a: 0,
                };
                match Template::parse(&t.text) {
                    Ok(template) if template.is_live() => LayerContent::Ticking(
                        TickingText::start(t, template, (tw, th), (w, h), layer.id)?,
                    ),
                    _ => LayerContent::Partial {
                        image: Arc::new(render_text(t, tw, th, transparent)?),
                        of: (w, h),
                    },
                }
            }
            LayerSource::Video(v) => {
                let kind = MovingKind::from_uri(&v.uri, v.looping);
                if matches!(kind, MovingKind::Uri { .. }) {
                    self.check_url("source.uri", &v.uri, UrlUse::Video)?;
                }
                let audio = match (&self.audio, self.live) {
                    (Some(port), true) => port.for_layer(layer.id).add_input().ok(),
                    _ => None,
                };
                let (w, h) = self.moving_size(w, h);
                let src = AppsinkSource::start(
                    &kind,
                    self.ctx.policy.as_ref(),
                    w,
                    h,
                    self.fps,
                    self.live,
                    audio,
                    self.events.layer_media_errors(layer.id),
                    total_crop(&layer.effects),
                )?;
                LayerContent::Live(Box::new(src))
            }
            LayerSource::Ingest(i) => {
                let (fw, fh) = self.moving_size(w, h);
                let crop = total_crop(&layer.effects);
                match self.open_live(layer.id, &i.primary(), tenant, (fw, fh), crop) {
                    Some(live) if i.fallbacks.is_empty() => LayerContent::Live(live),
                    Some(live) => LayerContent::Live(Box::new(self.ladder(
                        layer.id,
                        i,
                        live,
                        tenant,
                        (fw, fh),
                        crop,
                    ))),
                    // A key's feed with no ingest on this node (standalone): the slate.
                    None => {
                        let (sw, sh) = text_box(w, h, self.canvas);
                        LayerContent::Bitmap(slate(sw, sh))
                    }
                }
            }
        })
    }

    /// An uploaded image asset, from any control-plane replica.
    fn load_asset(&self, asset_id: Uuid) -> Result<Arc<image::RgbaImage>> {
        let sig = self
            .ctx
            .asset_key
            .as_ref()
            .map(|k| shared::node_api::asset_signature(k.expose_secret(), asset_id))
            .unwrap_or_default();
        // Any replica serves any asset: a replica that is down costs a retry, not the layer.
        let mut last =
            RenderError::InvalidSpec("image assets need CONTROL_PLANE_URL to be set".into());
        for base in &self.ctx.asset_bases {
            let url = shared::node_api::paths::asset_url(base, asset_id, &sig);
            match self.ctx.images.load(&url) {
                Ok(image) => return Ok(image),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The layer's effects with their masks loaded; a mask that cannot be loaded is
    /// reported and left out (the rest of the effects still apply).
    fn effects_of(&self, layer: &Layer) -> EffectChain {
        let mut chain = EffectChain::new(layer.effects.clone());
        for id in layer.effects.iter().filter_map(Effect::asset_id) {
            match self.load_asset(id) {
                Ok(img) => {
                    chain.masks.insert(id, img);
                }
                Err(e) => {
                    tracing::warn!(stream_id = %self.events.stream_id(), layer_id = %layer.id,
                        error = %e, "mask not loaded");
                    self.events.send(NodeEvent::LayerError {
                        layer_id: layer.id,
                        message: format!("mask {id} not loaded: {}", tenant_message(layer, &e)),
                    });
                }
            }
        }
        chain
    }

    /// The ladder of an ingest layer whose primary feed is `primary`: every fallback rung
    /// opened now, so each is decoding (and its health known) before it is needed. A slate
    /// asset that cannot be loaded is reported and replaced by the default slate: the
    /// layer's live rungs matter more than its placeholder.
    fn ladder(
        &self,
        layer_id: Uuid,
        source: &IngestSource,
        primary: Box<dyn FrameSource>,
        tenant: &str,
        (w, h): (u32, u32),
        crop: Crop,
    ) -> FallbackSource {
        let mut rungs = vec![Rung {
            name: source.primary().describe(),
            source: primary,
            still: false,
        }];
        for rung in &source.fallbacks {
            let name = rung.describe();
            let (frames, still): (Box<dyn FrameSource>, bool) = match rung {
                FallbackRung::Ingest { .. } | FallbackRung::Pull { .. } => {
                    match self.open_live(layer_id, rung, tenant, (w, h), crop) {
                        Some(live) => (live, false),
                        None => continue,
                    }
                }
                FallbackRung::Slate { slate: which } => {
                    let image = match which {
                        SlateRef::Default => slate(w, h),
                        SlateRef::Asset(id) => self.load_asset(*id).unwrap_or_else(|e| {
                            tracing::warn!(stream_id = %self.events.stream_id(), %layer_id,
                                error = %e, "slate asset not loaded; the default slate stands in");
                            self.events.send(NodeEvent::LayerError {
                                layer_id,
                                message: format!("the slate asset {id} could not be loaded"),
                            });
                            slate(w, h)
                        }),
                    };
                    (Box::new(StillSource::new(name.clone(), image, w, h)), true)
                }
            };
            rungs.push(Rung {
                name,
                source: frames,
                still,
            });
        }
        let ms = |v: Option<u32>, d: u32| Duration::from_millis(u64::from(v.unwrap_or(d)));
        let timings = Timings {
            stall: ms(source.stall_ms, DEFAULT_STALL_MS),
            recover: ms(source.recover_ms, DEFAULT_RECOVER_MS),
            crossfade: ms(source.crossfade_ms, 0),
        };
        FallbackSource::new(layer_id, rungs, timings, self.events.clone())
    }

    /// A live source of `w`×`h`, cropped by `crop` in its decoder: a key's feed (`None` when
    /// this node has no ingest), or a stream pulled from its URL; `None` for a slate.
    fn open_live(
        &self,
        layer_id: Uuid,
        rung: &FallbackRung,
        tenant: &str,
        (w, h): (u32, u32),
        crop: Crop,
    ) -> Option<Box<dyn FrameSource>> {
        let audio = self
            .audio
            .as_ref()
            .filter(|_| self.live)
            .map(|port| port.for_layer(layer_id));
        match rung {
            FallbackRung::Ingest { key_id } => self.ctx.feeds.open(FeedRequest {
                key_id: *key_id,
                tenant_id: tenant.to_owned(),
                width: w,
                height: h,
                audio,
                on_error: self.events.source_errors(),
                crop,
            }),
            FallbackRung::Pull { pull, looping } => {
                Some(Box::new(PulledSource::start(PullRequest {
                    url: pull.clone(),
                    looping: looping.unwrap_or(false),
                    policy: self.ctx.policy.clone(),
                    width: w,
                    height: h,
                    audio,
                    // What failed inside a stream the node fetched stays in the node's log.
                    on_error: self.events.layer_media_errors(layer_id),
                    crop,
                })))
            }
            FallbackRung::Slate { .. } => None,
        }
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
        // Moving sources crop in their decoder: a new crop is a new decoder.
        LayerSource::Video(_) | LayerSource::Ingest(_) => {
            total_crop(&old.effects) == total_crop(&new.effects)
        }
        _ => true,
    }
}

/// What the tenant reads when a layer cannot be loaded. Media (images, videos) fails with
/// one generic text, or with a reason about the tenant's own media: the URLs a decoder found
/// inside it, the node's files and a fetch's network errors stay in the node's log.
fn tenant_message(layer: &Layer, e: &RenderError) -> String {
    match (&layer.source, e) {
        (_, RenderError::MediaRefused(_) | RenderError::InvalidSpec(_)) => e.to_string(),
        (LayerSource::Image(_) | LayerSource::Video(_), _) => MEDIA_NOT_LOADED.into(),
        _ => e.to_string(),
    }
}
