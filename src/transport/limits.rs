//! The server's own bounds, shared by every binding: requests in flight at once and streams
//! open at once. Past either, a request is refused at once (503 or 429 with `Retry-After`,
//! gRPC `UNAVAILABLE` or `RESOURCE_EXHAUSTED`) instead of waiting in a queue.
//!
//! Agent mailboxes bound the work an agent takes; these bound what the requests themselves hold
//! (bodies, connections, the operations that take no mailbox slot: GetTask, ListTasks,
//! CancelTask, the push-config operations, cards).

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::protocol::{A2aError, ErrorKind};

/// Requests in flight and streams open, with their limits. Cheap to clone; clones share.
#[derive(Debug, Clone)]
pub struct Limits {
    requests: Arc<Semaphore>,
    streams: Arc<Semaphore>,
    max_requests: usize,
    max_streams: usize,
}

impl Limits {
    /// At most `max_requests` requests in flight and `max_streams` streams open (each at least 1).
    pub fn new(max_requests: usize, max_streams: usize) -> Self {
        let (max_requests, max_streams) = (max_requests.max(1), max_streams.max(1));
        Self {
            requests: Arc::new(Semaphore::new(max_requests)),
            streams: Arc::new(Semaphore::new(max_streams)),
            max_requests,
            max_streams,
        }
    }

    /// A slot for one request, held until its response is complete (for a stream: until its
    /// headers are sent; the stream then holds a stream slot).
    pub(crate) fn request(&self, binding: &'static str) -> Result<OwnedSemaphorePermit, A2aError> {
        self.requests.clone().try_acquire_owned().map_err(|_| {
            refused("requests", binding);
            A2aError::with_message(
                ErrorKind::Overloaded,
                format!(
                    "the server is at its limit of {} requests in flight; retry later",
                    self.max_requests
                ),
            )
        })
    }

    /// A slot for one open stream, held by the stream until it ends.
    pub(crate) fn stream(&self, binding: &'static str) -> Result<OwnedSemaphorePermit, A2aError> {
        self.streams.clone().try_acquire_owned().map_err(|_| {
            refused("streams", binding);
            A2aError::with_message(
                ErrorKind::Overloaded,
                format!(
                    "the server is at its limit of {} open streams; retry later",
                    self.max_streams
                ),
            )
        })
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::new(10_000, 10_000)
    }
}

fn refused(limit: &'static str, binding: &'static str) {
    metrics::counter!("a2a_server_refused_total", "limit" => limit, "binding" => binding)
        .increment(1);
}
