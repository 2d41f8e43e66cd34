//! The bound on concurrent image decodes.
//!
//! Decoding runs on blocking threads and may allocate up to the decoder's budget each
//! (see `routes::assets`), so the number running at once bounds the memory uploads can
//! take, whatever the number of uploads in flight. An upload waits a short while for a
//! slot, then is answered 503 with `Retry-After` rather than queueing without end.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// Slots for concurrent decodes.
#[derive(Clone)]
pub struct DecodeSlots {
    slots: Arc<Semaphore>,
    wait: Duration,
}

impl DecodeSlots {
    /// `n` concurrent decodes; a request waits at most `wait` for one.
    pub fn new(n: usize, wait: Duration) -> Self {
        DecodeSlots {
            slots: Arc::new(Semaphore::new(n.max(1))),
            wait,
        }
    }

    /// A slot, held until the permit is dropped; `Busy` when none frees up in time.
    pub async fn acquire(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        match tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ApiError::Busy("image decoding")),
        }
    }
}
