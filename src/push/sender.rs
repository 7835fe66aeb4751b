//! The push sender: one tokio task that starts a *lane* per (task, webhook) with pending
//! deliveries, and the lanes themselves.
//!
//! A lane delivers its entries one at a time, oldest first, so a webhook sees a task's events in
//! order; lanes are independent, so a slow or dead webhook holds up only its own lane (and its
//! retries sleep without holding anything else). The sender learns of new entries from the log's
//! lane signals, and scans the outbox at start-up (deliveries pending before a restart), when
//! signals were lost, when lanes were at their limit, and periodically.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::PushSettings;
use super::deliver::{self, Failure};
use crate::store::{Commit, DeadLetter, Lane, Log, OutboxSignals, StoreError, now_ms};

/// How often the outbox is scanned even without signals (a safety net).
const RESCAN_EVERY: Duration = Duration::from_secs(30);

struct Ctx {
    log: Log,
    settings: PushSettings,
    client: reqwest::Client,
    next_dead: AtomicU64,
    shutdown: watch::Receiver<bool>,
}

/// Starts the push sender over `log`; it stops when `shutdown` turns true, leaving whatever is
/// pending in the outbox for the next start. Returns `None` if another sender already runs.
pub fn spawn(
    log: Log,
    settings: PushSettings,
    shutdown: watch::Receiver<bool>,
) -> Result<Option<tokio::task::JoinHandle<()>>, super::StartError> {
    let Some(sender) = Sender::new(log, settings, shutdown)? else {
        return Ok(None);
    };
    Ok(Some(tokio::spawn(async move { sender.run().await })))
}

/// The push sender, restartable: [`Sender::run`] may be started again after a run was aborted
/// or panicked. It keeps the log's lane signals across runs (a run holds them while it runs),
/// and every run begins with a scan of the outbox, so nothing pending is lost; a delivery a
/// killed run had in flight is made again (at least once).
pub struct Sender {
    ctx: Arc<Ctx>,
    signals: tokio::sync::Mutex<OutboxSignals>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl Sender {
    /// The sender over `log`; `None` if another one already holds its signals.
    pub fn new(
        log: Log,
        settings: PushSettings,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Option<Self>, super::StartError> {
        let Some(signals) = log.take_outbox_signals() else {
            return Ok(None);
        };
        let ctx = Arc::new(Ctx {
            next_dead: AtomicU64::new(log.last_dead_letter_id()? + 1),
            client: deliver::client(settings.policy, settings.timeout)
                .map_err(super::StartError::Client)?,
            log,
            settings,
            shutdown,
        });
        Ok(Some(Self {
            ctx,
            signals: tokio::sync::Mutex::new(signals),
        }))
    }

    /// Delivers until the shutdown signal; see [`Sender`].
    pub async fn run(&self) {
        let mut signals = self.signals.lock().await;
        run(self.ctx.clone(), &mut signals).await;
    }
}

struct Lanes {
    ctx: Arc<Ctx>,
    active: HashSet<Lane>,
    running: JoinSet<Lane>,
    /// A lane was skipped because `max_lanes` were running: scan when one ends.
    skipped: bool,
}

impl Lanes {
    fn start(&mut self, lane: Lane) {
        if self.active.contains(&lane) {
            return;
        }
        if self.active.len() >= self.ctx.settings.max_lanes {
            self.skipped = true;
            return;
        }
        self.active.insert(lane.clone());
        metrics::gauge!("a2a_push_lanes").set(self.active.len() as f64);
        self.running.spawn(run_lane(self.ctx.clone(), lane));
    }

    /// Starts every lane with pending deliveries (up to the limit).
    fn scan(&mut self) {
        self.skipped = false;
        let mut after: Option<Lane> = None;
        loop {
            let room = self
                .ctx
                .settings
                .max_lanes
                .saturating_sub(self.active.len());
            if room == 0 {
                self.skipped = true;
                return;
            }
            let page = match self.ctx.log.outbox_lanes(after.as_ref(), room.min(256)) {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the push outbox");
                    return;
                }
            };
            let Some(last) = page.last().cloned() else {
                return;
            };
            for lane in page {
                self.start(lane);
            }
            after = Some(last);
        }
    }
}

async fn run(ctx: Arc<Ctx>, signals: &mut OutboxSignals) {
    let mut shutdown = ctx.shutdown.clone();
    let mut lanes = Lanes {
        ctx,
        active: HashSet::new(),
        running: JoinSet::new(),
        skipped: false,
    };
    let mut tick = tokio::time::interval(RESCAN_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick fires at once: the start-up scan finds what a restart left pending.
    loop {
        tokio::select! {
            Some(lane) = signals.lanes.recv() => lanes.start(lane),
            () = signals.overflow.wait() => lanes.scan(),
            Some(done) = lanes.running.join_next() => {
                match done {
                    Ok(lane) => {
                        lanes.active.remove(&lane);
                        // An entry may have arrived while the lane was finding itself empty.
                        if matches!(lanes.ctx.log.outbox_head(&lane), Ok(Some(_))) {
                            lanes.start(lane);
                        }
                    }
                    Err(e) => {
                        // A lane panicked; which one is unknown, so rebuild the set.
                        tracing::error!(error = %e, "push lane failed");
                        lanes.active.clear();
                        lanes.running.abort_all();
                        lanes.skipped = true;
                    }
                }
                metrics::gauge!("a2a_push_lanes").set(lanes.active.len() as f64);
                if lanes.skipped {
                    lanes.scan();
                }
            }
            _ = tick.tick() => lanes.scan(),
            _ = shutdown.wait_for(|s| *s) => break,
        }
    }
    lanes.running.abort_all();
}

async fn run_lane(ctx: Arc<Ctx>, lane: Lane) -> Lane {
    loop {
        match deliver_head(&ctx, &lane).await {
            Ok(true) => {}
            Ok(false) => return lane,
            Err(e) => {
                tracing::error!(task_id = %lane.task, config = %lane.config, error = %e, "push lane stopped on a storage error");
                return lane;
            }
        }
    }
}

/// Delivers (or dead-letters) the lane's oldest entry. `Ok(false)` when the lane is empty or
/// the sender is stopping.
async fn deliver_head(ctx: &Ctx, lane: &Lane) -> Result<bool, StoreError> {
    let Some((seq, mut entry)) = ctx.log.outbox_head(lane)? else {
        return Ok(false);
    };
    let Some(cfg) = ctx.log.push_config(&lane.task, &lane.config)? else {
        // The config was deleted: its pending deliveries go with it.
        ctx.log
            .commit(Commit::delete_push_config(
                &ctx.log,
                &lane.task,
                &lane.config,
            )?)
            .await?;
        return Ok(true);
    };
    // Only what survives a crash is announced: a webhook never hears of an event that a
    // restart could take back.
    ctx.log.read_committed().await?;
    let body = match ctx
        .log
        .events_after(&lane.task, seq.saturating_sub(1), 1)?
        .pop()
    {
        Some(ev) if ev.seq == seq => ev.json,
        _ => {
            tracing::warn!(task_id = %lane.task, seq, "push: the event is gone from the log; delivery dropped");
            ctx.log.commit(Commit::outbox_done(lane, seq)).await?;
            return Ok(true);
        }
    };
    let mut shutdown = ctx.shutdown.clone();
    let s = &ctx.settings;
    loop {
        if *shutdown.borrow() {
            return Ok(false);
        }
        entry.attempts += 1;
        let failure =
            match deliver::post(&ctx.client, s.policy, &cfg, seq, body.clone(), s.timeout).await {
                Ok(()) => {
                    metrics::counter!("a2a_push_delivered_total").increment(1);
                    ctx.log.commit(Commit::outbox_done(lane, seq)).await?;
                    return Ok(true);
                }
                Err(f) => f,
            };
        metrics::counter!("a2a_push_failed_attempts_total").increment(1);
        entry.last_error.clone_from(&failure.message);
        let elapsed = Duration::from_millis(now_ms().saturating_sub(entry.created_ms));
        let wait = backoff(s, entry.attempts, &failure);
        let give_up = if failure.permanent {
            Some(failure.message.clone())
        } else if entry.attempts >= s.max_attempts {
            Some(format!(
                "{} (gave up after {} attempts)",
                failure.message, entry.attempts
            ))
        } else if elapsed + wait > s.window {
            Some(format!(
                "{} (retry window of {} s used up after {} attempts)",
                failure.message,
                s.window.as_secs(),
                entry.attempts
            ))
        } else {
            None
        };
        if let Some(error) = give_up {
            let dead = DeadLetter {
                task: lane.task.clone(),
                config: lane.config.clone(),
                seq,
                url: cfg.url.clone(),
                attempts: entry.attempts,
                error,
                created_ms: entry.created_ms,
                dead_ms: now_ms(),
            };
            let id = ctx.next_dead.fetch_add(1, Ordering::AcqRel);
            tracing::warn!(task_id = %lane.task, config = %lane.config, seq, dead_letter = id, error = %dead.error, "push delivery dead-lettered");
            metrics::counter!("a2a_push_dead_lettered_total").increment(1);
            ctx.log.commit(Commit::dead_letter(id, &dead)).await?;
            return Ok(true);
        }
        ctx.log
            .commit(Commit::outbox_retry(lane, seq, &entry))
            .await?;
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|s| *s) => return Ok(false),
        }
    }
}

/// Exponential backoff with full jitter (uniform in `[0, min(max, base·2^(n-1))]`), and never
/// sooner than the webhook's `Retry-After`.
fn backoff(s: &PushSettings, attempts: u32, failure: &Failure) -> Duration {
    crate::backoff::full_jitter(s.backoff_base, s.backoff_max, attempts, failure.retry_after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_honours_retry_after() {
        let s = PushSettings {
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(2),
            ..PushSettings::default()
        };
        let f = |retry_after| Failure {
            message: String::new(),
            permanent: false,
            retry_after,
        };
        for attempts in 1..40 {
            let cap =
                Duration::from_millis(100 * (1u64 << (attempts - 1).min(20))).min(s.backoff_max);
            let w = backoff(&s, attempts, &f(None));
            assert!(w <= cap, "attempt {attempts}: {w:?} > {cap:?}");
        }
        let waits: HashSet<Duration> = (0..20).map(|_| backoff(&s, 5, &f(None))).collect();
        assert!(waits.len() > 10, "jittered: {waits:?}");
        let ra = Duration::from_secs(7);
        assert!(backoff(&s, 1, &f(Some(ra))) >= ra);
    }
}
