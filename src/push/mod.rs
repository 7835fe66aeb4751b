//! Push notifications: every persisted event of a task is POSTed to each of its webhooks.
//!
//! The outbox lives in the log (`store::push`): an event and its pending deliveries are written in
//! one batch. [`sender`] delivers them at least once, in order per (task, webhook), with jittered
//! exponential backoff that honours `Retry-After`, and moves a delivery that runs out of attempts
//! or time to the dead-letter queue, from where `a2a dlq retry` puts it back. [`policy`] keeps
//! webhooks away from loopback, private and metadata addresses unless configured otherwise.

mod deliver;
pub mod policy;
pub mod sender;

use std::time::Duration;

pub use policy::AddressPolicy;

/// Why the push sender did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The webhook client with the address guard could not be built; no unguarded one is used.
    #[error("cannot build the guarded webhook client: {0}")]
    Client(#[source] reqwest::Error),
}

use crate::protocol::{A2aError, TaskPushNotificationConfig};

/// Webhooks one task may have.
pub const MAX_CONFIGS_PER_TASK: usize = 16;

/// How webhooks are called and retried.
#[derive(Debug, Clone)]
pub struct PushSettings {
    /// Which addresses webhooks may reach.
    pub policy: AddressPolicy,
    /// Attempts per delivery before it is dead-lettered.
    pub max_attempts: u32,
    /// How long after its event a delivery is retried at most.
    pub window: Duration,
    /// One attempt's deadline (connect and answer).
    pub timeout: Duration,
    /// First retry waits up to this (full jitter), doubling per attempt up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Lanes (task × webhook) delivering at once; each has at most one request in flight.
    pub max_lanes: usize,
}

impl Default for PushSettings {
    fn default() -> Self {
        Self {
            policy: AddressPolicy::default(),
            max_attempts: 10,
            window: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(10),
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(300),
            max_lanes: 1024,
        }
    }
}

/// Checks a webhook config from a client (its task id already set) and fills in its id (the
/// task id when empty, as the Python SDK does, so a second config without an id replaces the
/// first).
pub fn validate_config(
    cfg: &mut TaskPushNotificationConfig,
    at: &str,
    policy: AddressPolicy,
) -> Result<(), A2aError> {
    let field = |name: &str| {
        if at.is_empty() {
            name.to_owned()
        } else {
            format!("{at}.{name}")
        }
    };
    if cfg.url.is_empty() {
        return Err(A2aError::invalid_field(field("url"), "is required"));
    }
    if cfg.url.len() > 2048 {
        return Err(A2aError::invalid_field(
            field("url"),
            "is longer than 2048 bytes",
        ));
    }
    deliver::check_url(&cfg.url, policy).map_err(|e| A2aError::invalid_field(field("url"), e))?;
    if cfg.id.is_empty() {
        cfg.id.clone_from(&cfg.task_id);
    }
    if cfg.id.len() > 256 || cfg.id.contains('\0') {
        return Err(A2aError::invalid_field(
            field("id"),
            "must be at most 256 bytes, without NUL",
        ));
    }
    let header_safe = |s: &str| s.len() <= 8192 && !s.chars().any(|c| c.is_control());
    if !header_safe(&cfg.token) {
        return Err(A2aError::invalid_field(
            field("token"),
            "must be at most 8192 bytes without control characters",
        ));
    }
    if let Some(auth) = &cfg.authentication
        && (!header_safe(&auth.scheme)
            || !header_safe(&auth.credentials)
            || auth.scheme.contains(' ')
            || (auth.scheme.is_empty() && !auth.credentials.is_empty()))
    {
        return Err(A2aError::invalid_field(
            field("authentication"),
            "needs a scheme (one token, e.g. Bearer) and header-safe credentials",
        ));
    }
    Ok(())
}
