//! Things a running stream tells its owner about: going live, errors and output state changes.
//!
//! The dispatch layer subscribes and turns these into `stream:error` and `stream:status`
//! events; every event is also logged with the stream id. Sources and outputs, below the
//! engine, tell theirs through the callbacks [`EventSink::source_errors`] and
//! [`EventSink::output_changes`] hand them.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use shared::fallback::LayerSourceStatus;
use shared::status::{OutputState, OutputStatus};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::output::OnOutputChange;
use crate::sources::OnSourceError;
use crate::sources::guard::MEDIA_NOT_LOADED;

/// One event of one stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum NodeEvent {
    /// A layer could not be loaded; it is skipped and the stream goes on.
    #[serde(rename_all = "camelCase")]
    LayerError { layer_id: Uuid, message: String },
    /// A moving source (video, feed) failed after it started; its last frame stays.
    #[serde(rename_all = "camelCase")]
    SourceError { source: String, message: String },
    /// A destination changed state. `url` has its key masked.
    #[serde(rename_all = "camelCase")]
    Output {
        url: String,
        state: OutputState,
        error: Option<String>,
    },
    /// A layer's fallback ladder switched rungs, from `previous` to `status.active`,
    /// because of `reason` (`stalled`, `recovered`, `picture`).
    #[serde(rename_all = "camelCase")]
    LayerSource {
        previous: usize,
        reason: String,
        status: LayerSourceStatus,
    },
    /// The first frame is out: the stream is live.
    Live,
    /// The stream itself failed and stopped.
    #[serde(rename_all = "camelCase")]
    StreamFailed { message: String },
    /// The stream ended (stopped on request or after its planned duration).
    StreamEnded,
}

/// The ladders on air, by layer: each entry tagged with the load that wrote it, so a
/// replaced ladder going away does not remove its successor's entry.
type Ladders = Arc<Mutex<BTreeMap<Uuid, (u64, LayerSourceStatus)>>>;

/// Sends a stream's events to its subscribers and to the log, and keeps the state of its
/// layers' fallback ladders for the stream's report.
#[derive(Debug, Clone)]
pub struct EventSink {
    stream_id: Uuid,
    tx: broadcast::Sender<NodeEvent>,
    ladders: Ladders,
}

impl EventSink {
    /// A sink for `stream_id` keeping up to 256 unread events per subscriber.
    pub fn new(stream_id: Uuid) -> Self {
        let (tx, _) = broadcast::channel(256);
        EventSink {
            stream_id,
            tx,
            ladders: Ladders::default(),
        }
    }

    /// Publishes an event; having no subscriber is fine.
    pub fn send(&self, e: NodeEvent) {
        match &e {
            NodeEvent::LayerError { layer_id, message } => {
                tracing::warn!(stream_id = %self.stream_id, %layer_id, %message, "layer skipped")
            }
            NodeEvent::SourceError { source, message } => {
                tracing::warn!(stream_id = %self.stream_id, %source, %message, "source failed")
            }
            NodeEvent::Output { url, state, error } => {
                tracing::info!(stream_id = %self.stream_id, %url, ?state, ?error, "output state")
            }
            NodeEvent::StreamFailed { message } => {
                tracing::error!(stream_id = %self.stream_id, %message, "stream failed")
            }
            NodeEvent::LayerSource {
                previous,
                reason,
                status,
            } => {
                tracing::info!(stream_id = %self.stream_id, layer_id = %status.layer_id, previous,
                    active = status.active, source = %status.active_source, %reason, "layer switched source")
            }
            NodeEvent::Live => tracing::debug!(stream_id = %self.stream_id, "first frame out"),
            NodeEvent::StreamEnded => tracing::info!(stream_id = %self.stream_id, "stream ended"),
        }
        let _ = self.tx.send(e);
    }

    /// A new subscriber, seeing events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.tx.subscribe()
    }

    /// What a moving source calls when it fails: a [`NodeEvent::SourceError`].
    pub fn source_errors(&self) -> OnSourceError {
        let sink = self.clone();
        Arc::new(move |source: &str, message: &str| {
            sink.send(NodeEvent::SourceError {
                source: source.to_owned(),
                message: message.to_owned(),
            })
        })
    }

    /// What a layer's moving source calls when its media fails after it started: the detail
    /// is logged, the tenant reads a [`NodeEvent::LayerError`] with the generic
    /// [`MEDIA_NOT_LOADED`] (a URL the decoder found inside the media or a network error's
    /// text would tell them about the node's network).
    pub fn layer_media_errors(&self, layer_id: Uuid) -> OnSourceError {
        let sink = self.clone();
        Arc::new(move |source: &str, message: &str| {
            tracing::warn!(stream_id = %sink.stream_id, %layer_id, %source, %message, "layer media failed");
            sink.send(NodeEvent::LayerError {
                layer_id,
                message: MEDIA_NOT_LOADED.into(),
            })
        })
    }

    /// What the outputs call when a destination changes state: a [`NodeEvent::Output`].
    pub fn output_changes(&self) -> OnOutputChange {
        let sink = self.clone();
        Arc::new(move |o: OutputStatus| {
            sink.send(NodeEvent::Output {
                url: o.url,
                state: o.state,
                error: o.error,
            })
        })
    }

    /// Records the state of a layer's ladder (loaded as `load`), for the report.
    pub fn ladder_state(&self, load: u64, status: LayerSourceStatus) {
        self.ladders.lock().insert(status.layer_id, (load, status));
    }

    /// A layer's ladder (loaded as `load`) left the air.
    pub fn ladder_gone(&self, layer_id: Uuid, load: u64) {
        let mut ladders = self.ladders.lock();
        if ladders.get(&layer_id).is_some_and(|(l, _)| *l == load) {
            ladders.remove(&layer_id);
        }
    }

    /// Every ladder on air, by layer id.
    pub fn layer_sources(&self) -> Vec<LayerSourceStatus> {
        self.ladders
            .lock()
            .values()
            .map(|(_, s)| s.clone())
            .collect()
    }

    /// The stream these events belong to.
    pub fn stream_id(&self) -> Uuid {
        self.stream_id
    }
}

impl crate::sources::fallback::LadderReports for EventSink {
    fn state(&self, load: u64, status: LayerSourceStatus) {
        self.ladder_state(load, status);
    }

    fn switched(&self, previous: usize, reason: &str, status: LayerSourceStatus) {
        self.send(NodeEvent::LayerSource {
            previous,
            reason: reason.to_owned(),
            status,
        });
    }

    fn gone(&self, layer_id: Uuid, load: u64) {
        self.ladder_gone(layer_id, load);
    }
}
