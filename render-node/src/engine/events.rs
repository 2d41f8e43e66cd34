//! Things a running stream tells its owner about: going live, errors and output state changes.
//!
//! The dispatch layer subscribes and turns these into `stream:error` and `stream:status`
//! events; every event is also logged with the stream id. Sources and outputs, below the
//! engine, tell theirs through the callbacks [`EventSink::source_errors`] and
//! [`EventSink::output_changes`] hand them.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shared::status::{OutputState, OutputStatus};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::output::OnOutputChange;
use crate::sources::OnSourceError;

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
    /// The first frame is out: the stream is live.
    Live,
    /// The stream itself failed and stopped.
    #[serde(rename_all = "camelCase")]
    StreamFailed { message: String },
    /// The stream ended (stopped on request or after its planned duration).
    StreamEnded,
}

/// Sends a stream's events to its subscribers and to the log.
#[derive(Debug, Clone)]
pub struct EventSink {
    stream_id: Uuid,
    tx: broadcast::Sender<NodeEvent>,
}

impl EventSink {
    /// A sink for `stream_id` keeping up to 256 unread events per subscriber.
    pub fn new(stream_id: Uuid) -> Self {
        let (tx, _) = broadcast::channel(256);
        EventSink { stream_id, tx }
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

    /// The stream these events belong to.
    pub fn stream_id(&self) -> Uuid {
        self.stream_id
    }
}
