//! What keeps the client working on real networks: retries with exponential backoff and full
//! jitter that honour `Retry-After`, a retry budget so retries cannot multiply load, and a
//! circuit breaker per remote agent.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How calls are retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per call, the first included (1 = no retries).
    pub max_attempts: u32,
    /// The first retry waits up to this (full jitter), doubling per retry up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Retries allowed per call made, on average (the budget): 0.2 lets one call in five retry
    /// once when everything fails, so a struggling remote sees at most 1.2× the load.
    pub budget_ratio: f64,
    /// Retries the budget always allows, whatever the ratio (a floor for quiet clients).
    pub budget_floor: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            budget_ratio: 0.2,
            budget_floor: 10.0,
        }
    }
}

impl RetryPolicy {
    /// The wait before retry `n` (1-based): full jitter, never sooner than `retry_after`.
    pub fn backoff(&self, n: u32, retry_after: Option<Duration>) -> Duration {
        crate::backoff::full_jitter(self.base_backoff, self.max_backoff, n, retry_after)
    }
}

/// A token bucket of retries: each call deposits `ratio`, each retry takes one.
#[derive(Debug)]
pub struct RetryBudget {
    tokens: Mutex<f64>,
    ratio: f64,
    cap: f64,
}

impl RetryBudget {
    pub fn new(policy: &RetryPolicy) -> Self {
        Self {
            tokens: Mutex::new(policy.budget_floor),
            ratio: policy.budget_ratio,
            cap: policy.budget_floor.max(1.0) * 10.0,
        }
    }

    /// A call was made.
    pub fn deposit(&self) {
        if let Ok(mut t) = self.tokens.lock() {
            *t = (*t + self.ratio).min(self.cap);
        }
    }

    /// May this retry happen? Takes a token if so.
    pub fn withdraw(&self) -> bool {
        match self.tokens.lock() {
            Ok(mut t) if *t >= 1.0 => {
                *t -= 1.0;
                true
            }
            _ => false,
        }
    }
}

/// The circuit breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls fail at once until the cool-down ends.
    Open,
    /// One trial call goes through; its outcome closes or reopens the breaker.
    HalfOpen,
}

/// When the breaker opens and for how long.
#[derive(Debug, Clone)]
pub struct BreakerPolicy {
    /// Consecutive failed calls that open it.
    pub failures_to_open: u32,
    /// How long it stays open before a trial call.
    pub cool_down: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self {
            failures_to_open: 5,
            cool_down: Duration::from_secs(5),
        }
    }
}

#[derive(Debug)]
struct BreakerInner {
    state: BreakerState,
    failures: u32,
    opened_at: Option<Instant>,
    trial_running: bool,
}

/// A circuit breaker for one remote agent.
#[derive(Debug)]
pub struct Breaker {
    policy: BreakerPolicy,
    inner: Mutex<BreakerInner>,
}

impl Breaker {
    pub fn new(policy: BreakerPolicy) -> Self {
        Self {
            policy,
            inner: Mutex::new(BreakerInner {
                state: BreakerState::Closed,
                failures: 0,
                opened_at: None,
                trial_running: false,
            }),
        }
    }

    /// The state now (an open breaker past its cool-down reads as half-open).
    pub fn state(&self) -> BreakerState {
        let Ok(i) = self.inner.lock() else {
            return BreakerState::Closed;
        };
        match (i.state, i.opened_at) {
            (BreakerState::Open, Some(at)) if at.elapsed() >= self.policy.cool_down => {
                BreakerState::HalfOpen
            }
            (s, _) => s,
        }
    }

    /// May a call go out now? In half-open, only one trial at a time.
    pub fn admit(&self) -> bool {
        let Ok(mut i) = self.inner.lock() else {
            return true;
        };
        match i.state {
            BreakerState::Closed => true,
            BreakerState::Open => {
                let cooled = i
                    .opened_at
                    .is_some_and(|at| at.elapsed() >= self.policy.cool_down);
                if cooled && !i.trial_running {
                    i.state = BreakerState::HalfOpen;
                    i.trial_running = true;
                    true
                } else {
                    false
                }
            }
            BreakerState::HalfOpen => {
                if i.trial_running {
                    false
                } else {
                    i.trial_running = true;
                    true
                }
            }
        }
    }

    /// The call succeeded (the remote answered, even with an A2A error).
    pub fn success(&self) {
        if let Ok(mut i) = self.inner.lock() {
            i.state = BreakerState::Closed;
            i.failures = 0;
            i.trial_running = false;
            i.opened_at = None;
        }
    }

    /// The call failed (transport error, overload, 5xx) after its retries.
    pub fn failure(&self) {
        if let Ok(mut i) = self.inner.lock() {
            i.trial_running = false;
            i.failures += 1;
            if i.state == BreakerState::HalfOpen || i.failures >= self.policy.failures_to_open {
                i.state = BreakerState::Open;
                i.opened_at = Some(Instant::now());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_opens_cools_down_and_closes() {
        let b = Breaker::new(BreakerPolicy {
            failures_to_open: 2,
            cool_down: Duration::from_millis(50),
        });
        assert!(b.admit());
        b.failure();
        assert_eq!(b.state(), BreakerState::Closed);
        b.failure();
        assert_eq!(b.state(), BreakerState::Open);
        assert!(!b.admit());
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(b.admit(), "one trial");
        assert!(!b.admit(), "only one");
        b.failure();
        assert_eq!(b.state(), BreakerState::Open);
        std::thread::sleep(Duration::from_millis(60));
        assert!(b.admit());
        b.success();
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn the_budget_bounds_retries() {
        let p = RetryPolicy {
            budget_ratio: 0.5,
            budget_floor: 2.0,
            ..RetryPolicy::default()
        };
        let b = RetryBudget::new(&p);
        assert!(b.withdraw() && b.withdraw());
        assert!(!b.withdraw(), "the floor is spent");
        b.deposit();
        assert!(!b.withdraw(), "half a token");
        b.deposit();
        assert!(b.withdraw());
        let d = p.backoff(3, Some(Duration::from_secs(2)));
        assert!(d >= Duration::from_secs(2));
        assert!(p.backoff(1, None) <= p.base_backoff);
    }
}
