//! Exponential backoff with full jitter, shared by the push sender and the client: the wait
//! before retry `n` is uniform in `[0, min(max, base·2^(n-1))]`, and never shorter than what the
//! other side asked for with `Retry-After`.

use std::time::Duration;

/// The wait before retry `attempt` (1-based).
pub fn full_jitter(
    base: Duration,
    max: Duration,
    attempt: u32,
    retry_after: Option<Duration>,
) -> Duration {
    let cap = base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(max);
    let jittered = cap.mul_f64(random_unit());
    retry_after.map_or(jittered, |ra| jittered.max(ra))
}

/// A uniform random number in `[0, 1)` (for jitter; not for anything secret).
fn random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}
