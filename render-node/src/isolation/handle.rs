//! [`ChildStream`]: a stream running in its own process, driven through the same
//! [`RunningStream`] seam as an in-process one. Reports and events are the keeper's latest;
//! changes and snapshots are requests over the socket, one at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;
use shared::audio::AudioLevels;
use shared::spec::StreamSpec;
use shared::status::LiveReport;
use tokio::sync::broadcast;

use super::Launch;
use super::keeper::{Keeper, Shared};
use super::protocol::{Answer, ToChild, write_frame};
use crate::engine::{Applied, NodeEvent, RunningStream};
use crate::error::{RenderError, Result};
use crate::system::unix_ms;

/// Longest wait for a change to be applied (new media loads first).
const APPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for a snapshot.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(5);

/// A stream in its own process.
pub struct ChildStream {
    shared: Arc<Shared>,
    keeper: Mutex<Option<JoinHandle<()>>>,
    next_request: AtomicU64,
}

impl ChildStream {
    /// Starts `spec`'s process and waits until its stream runs (or cannot).
    pub(crate) fn start(launch: Arc<Launch>, spec: &StreamSpec) -> Result<Self> {
        spec.config
            .validate()
            .map_err(|e| RenderError::InvalidSpec(e.to_string()))?;
        let shared = Arc::new(Shared::new(spec, &launch.node_id));
        let (first_tx, first_rx) = mpsc::sync_channel(1);
        let keeper = Keeper {
            launch,
            shared: shared.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(format!(
                "keep-{}",
                &spec.stream_id.simple().to_string()[..8]
            ))
            .spawn(move || keeper.run(first_tx))
            .map_err(|e| RenderError::Io {
                what: "start a stream's keeper thread".into(),
                source: e,
            })?;
        match first_rx.recv() {
            Ok(Ok(())) => Ok(ChildStream {
                shared,
                keeper: Mutex::new(Some(thread)),
                next_request: AtomicU64::new(1),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(RenderError::Isolation("the stream's keeper ended".into()))
            }
        }
    }

    /// Sends a request to the current process and waits for its answer; `None` when there
    /// is no process to ask (it is being restarted) or it died before answering.
    fn request(
        &self,
        make: impl FnOnce(u64) -> ToChild,
        timeout: Duration,
    ) -> Result<Option<Answer>> {
        let replies = self.shared.replies.lock();
        let Some(rx) = replies.as_ref() else {
            return Ok(None);
        };
        let id = self.next_request.fetch_add(1, Ordering::Relaxed);
        {
            let mut writer = self.shared.writer.lock();
            let Some(w) = writer.as_mut() else {
                return Ok(None);
            };
            if write_frame(w, &make(id)).is_err() {
                return Ok(None);
            }
        }
        loop {
            match rx.recv_timeout(timeout) {
                Ok((rid, result)) if rid == id => return result.map(Some).map_err(Into::into),
                // An answer to an earlier request that timed out.
                Ok(_) => continue,
                Err(RecvTimeoutError::Disconnected) => return Ok(None),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(RenderError::Isolation(
                        "the stream's process did not answer in time".into(),
                    ));
                }
            }
        }
    }
}

impl RunningStream for ChildStream {
    fn apply(&self, spec: &StreamSpec) -> Result<Applied> {
        if spec.stream_id != self.shared.stream_id {
            return Err(RenderError::InvalidSpec(
                "the spec is for another stream".into(),
            ));
        }
        spec.config
            .validate()
            .map_err(|e| RenderError::InvalidSpec(e.to_string()))?;
        if self.shared.failure.lock().is_some() {
            return Err(RenderError::Stopped);
        }
        {
            let mut current = self.shared.spec.lock();
            if spec.version <= current.version {
                return Ok(Applied::Ignored);
            }
            // A process restarted from now on starts with it, whatever happens below.
            *current = spec.clone();
        }
        let spec = Box::new(spec.clone());
        match self.request(|id| ToChild::Apply { id, spec }, APPLY_TIMEOUT)? {
            Some(Answer::Applied { applied }) => Ok(applied.into()),
            Some(Answer::Snapshot { .. }) => Err(RenderError::Isolation(
                "the stream's process answered another request".into(),
            )),
            // The process is being replaced: its successor starts with this spec.
            None => Ok(Applied::Restarted),
        }
    }

    fn report(&self) -> LiveReport {
        let mut r = self.shared.report.lock().clone();
        r.reported_at = unix_ms();
        r
    }

    fn events(&self) -> broadcast::Receiver<NodeEvent> {
        self.shared.events.subscribe()
    }

    fn audio_levels(&self) -> Option<AudioLevels> {
        self.shared.levels.lock().take()
    }

    fn snapshot_jpeg(&self, quality: u8) -> Result<Option<Vec<u8>>> {
        match self.request(|id| ToChild::Snapshot { id, quality }, SNAPSHOT_TIMEOUT)? {
            Some(Answer::Snapshot { jpeg }) => Ok(jpeg),
            _ => Ok(None),
        }
    }

    fn stop(&self) -> Result<LiveReport> {
        self.shared.stopping.store(true, Ordering::SeqCst);
        if let Some(keeper) = self.keeper.lock().take() {
            let _ = keeper.join();
        }
        let report = self.report();
        match self.shared.failure.lock().clone() {
            Some(message) => Err(RenderError::Pipeline {
                element: "stream".into(),
                message,
                debug: None,
            }),
            None => Ok(report),
        }
    }
}

impl Drop for ChildStream {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        if let Some(keeper) = self.keeper.get_mut().take() {
            let _ = keeper.join();
        }
    }
}
