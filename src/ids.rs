//! Fresh ids: UUIDs whose random bits come from the operating system's generator, read ahead
//! a few KiB at a time per thread. A send makes three ids (context, task, artifact), and a
//! `getrandom` call for each was ~1.5% of the server's CPU under load.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use uuid::{Builder, Uuid};

/// Random bytes read ahead per thread.
const BLOCK: usize = 4096;

struct Pool {
    bytes: [u8; BLOCK],
    used: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = const { RefCell::new(Pool { bytes: [0; BLOCK], used: BLOCK }) };
}

/// `N` bytes from the operating system's generator, each handed out once.
fn random_bytes<const N: usize>() -> [u8; N] {
    const { assert!(N <= 16) };
    let mut out = [0; N];
    let pooled = POOL.with_borrow_mut(|p| {
        if p.used + N > BLOCK {
            if getrandom::fill(&mut p.bytes).is_err() {
                return false;
            }
            p.used = 0;
        }
        out.copy_from_slice(&p.bytes[p.used..p.used + N]);
        p.used += N;
        true
    });
    if !pooled {
        // Not expected on a supported system: uuid's own generator then decides.
        out.copy_from_slice(&Uuid::new_v4().into_bytes()[..N]);
    }
    out
}

/// A random (version 4) UUID, hyphenated.
pub fn random() -> String {
    Builder::from_random_bytes(random_bytes())
        .into_uuid()
        .to_string()
}

/// The largest time a version 7 UUID holds (48 bits of milliseconds, the year 10889).
const MAX_MILLIS: u64 = (1 << 48) - 1;

/// The last `(unix millis << 12) | counter` handed out by [`time_ordered`].
static LAST_V7: AtomicU64 = AtomicU64::new(0);

/// A time-ordered (version 7) UUID, hyphenated: ids made later in this process sort after
/// earlier ones, also within one millisecond (a 12-bit counter follows the time; past 4096 ids
/// in a millisecond the time field runs a little ahead instead of going back).
pub fn time_ordered() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
        .min(MAX_MILLIS);
    let floor = now << 12;
    let prev = LAST_V7
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(floor.max(last.saturating_add(1)))
        })
        .unwrap_or(floor);
    let stamp = floor.max(prev.saturating_add(1));
    let mut tail: [u8; 10] = random_bytes();
    let counter = (stamp & 0xfff) as u16;
    tail[0] = (counter >> 8) as u8;
    tail[1] = counter as u8;
    Builder::from_unix_timestamp_millis(stamp >> 12, &tail)
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_well_formed_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..3 * BLOCK {
            let id = random();
            let u = Uuid::parse_str(&id).unwrap();
            assert_eq!(u.get_version_num(), 4);
            assert!(seen.insert(id));
        }
    }

    #[test]
    fn time_ordered_ids_sort_in_the_order_they_were_made_across_threads() {
        let made: Vec<Vec<String>> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..5000).map(|_| time_ordered()).collect::<Vec<_>>()))
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let mut all = std::collections::HashSet::new();
        for ids in &made {
            assert!(
                ids.windows(2).all(|w| w[0] < w[1]),
                "each thread's ids increase"
            );
            for id in ids {
                let u = Uuid::parse_str(id).unwrap();
                assert_eq!(u.get_version_num(), 7);
                let (secs, nanos) = u.get_timestamp().unwrap().to_unix();
                let ms = secs * 1000 + u64::from(nanos) / 1_000_000;
                assert!(
                    ms.abs_diff(now_ms) < 60_000,
                    "the time field is the clock's"
                );
                assert!(all.insert(id.clone()));
            }
        }
    }
}
