//! Write-behind staging between the group-commit writer and the engine.
//!
//! The writer applies each batch here, in memory, where readers see it at once; the flush thread
//! hands everything staged to the engine as *one* batch right before it flushes (or, in
//! `buffered` mode, as soon as it can). Engine batches are what cost (sled seals and writes its
//! log buffer around every batch, and every key is a tree insert), so staging a whole flush
//! period first pays twice:
//!
//! - one engine batch per flush instead of one per writer batch;
//! - changes that cancel out never reach the engine: a key created in this period and deleted
//!   again in it (a quick task's entry in the unfinished-tasks index, a push delivery made at
//!   once) is simply dropped, and a new record may be folded into the fresh one before it (a
//!   task's events: [`Merge`]). A quick task writes 4 keys instead of 7.
//!
//! Reads look at what is staged, then at what is being handed over, then at the engine, so
//! every reader sees every applied change in order. Staged bytes are bounded ([`STAGED_LIMIT`]):
//! past it the writer waits for the flush thread.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Entries, Op, Store, StoreError};

/// Staged bytes past which the writer waits for the engine to catch up (a stalled disk turns
/// into backpressure, not memory).
pub const STAGED_LIMIT: usize = 32 << 20;

/// Folds a new record into the fresh record just before it in key order, when the key layout
/// says they are one: `(previous key, previous value, key, value)` → the previous key's new
/// value, or `None` to keep both.
pub type Merge = fn(&[u8], &[u8], &[u8], &[u8]) -> Option<Vec<u8>>;

/// One staged change of a key.
#[derive(Debug, Clone)]
struct Change {
    /// The new value; `None` deletes.
    value: Option<Vec<u8>>,
    /// The engine does not have the key: deleting it again needs no engine op at all.
    fresh: bool,
}

type Layer = BTreeMap<Vec<u8>, Change>;

/// A key and its staged value (`None`: deleted).
type Staged = (Vec<u8>, Option<Vec<u8>>);

#[derive(Default)]
struct Layers {
    staged: Layer,
    staged_bytes: usize,
    /// What the flush thread is handing to the engine right now.
    applying: Option<Arc<Layer>>,
}

/// A [`Store`] that stages writes in memory in front of an engine.
pub struct Staging {
    engine: Arc<dyn Store>,
    layers: Mutex<Layers>,
    /// Hand-overs one at a time: a later one must not reach the engine before an earlier one.
    draining: Mutex<()>,
    merge: Merge,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means a thread panicked holding it; the maps are still whole (every
    // update is a single insert or remove).
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Staging {
    pub fn new(engine: Arc<dyn Store>, merge: Merge) -> Self {
        Self {
            engine,
            layers: Mutex::new(Layers::default()),
            draining: Mutex::new(()),
            merge,
        }
    }

    /// Applies `ops` in memory; readers see them from now on.
    pub fn stage(&self, ops: Vec<Op>) {
        let mut guard = lock(&self.layers);
        let l = &mut *guard;
        for op in ops {
            match op {
                Op::Create(key, value) => {
                    // A key staged (not fresh) or being handed over is the engine's, whatever
                    // the op claims.
                    let in_flight = l.applying.as_ref().is_some_and(|a| a.contains_key(&key));
                    let fresh = !in_flight && l.staged.get(&key).is_none_or(|c| c.fresh);
                    let folded = l
                        .staged
                        .range::<[u8], _>((
                            std::ops::Bound::Unbounded,
                            std::ops::Bound::Excluded(key.as_slice()),
                        ))
                        .next_back()
                        .filter(|_| fresh)
                        .and_then(|(pk, prev)| {
                            let pv = prev.value.as_ref().filter(|_| prev.fresh)?;
                            Some((pk.clone(), (self.merge)(pk, pv, &key, &value)?))
                        });
                    match folded {
                        Some((pk, merged)) => l.set(pk, Some(merged), true),
                        None => l.set(key, Some(value), fresh),
                    }
                }
                Op::Put(key, value) => {
                    let fresh = l.staged.get(&key).is_some_and(|c| c.fresh);
                    l.set(key, Some(value), fresh);
                }
                // A fresh key is unknown to the engine: forgetting it is the whole delete.
                Op::Delete(key) if l.staged.get(&key).is_some_and(|c| c.fresh) => l.forget(&key),
                Op::Delete(key) => l.set(key, None, false),
            }
        }
    }

    /// Bytes staged and not yet handed to the engine.
    pub fn staged_bytes(&self) -> usize {
        lock(&self.layers).staged_bytes
    }

    /// Hands everything staged to the engine as one batch (not flushed).
    pub fn drain(&self) -> Result<(), StoreError> {
        let _one_at_a_time = lock(&self.draining);
        let layer = {
            let mut l = lock(&self.layers);
            if l.staged.is_empty() {
                return Ok(());
            }
            let layer = Arc::new(std::mem::take(&mut l.staged));
            l.staged_bytes = 0;
            l.applying = Some(layer.clone());
            layer
        };
        metrics::histogram!("a2a_store_engine_batch_keys").record(layer.len() as f64);
        let ops = layer
            .iter()
            .map(|(k, c)| match &c.value {
                Some(v) => Op::Put(k.clone(), v.clone()),
                None => Op::Delete(k.clone()),
            })
            .collect();
        let result = self.engine.apply(ops);
        // On failure the changes stay visible (`applying` is kept) but never become durable:
        // the writer stops acknowledging (see `writer`).
        if result.is_ok() {
            lock(&self.layers).applying = None;
        }
        result
    }

    /// Flushes what the engine holds, leaving what is staged staged (the writer's flush thread
    /// calls it while the next hand-over runs on another thread).
    pub fn flush_engine(&self) -> Result<(), StoreError> {
        self.engine.flush()
    }

    /// The staged view of `[from, to)`, ascending: what is being handed over, overridden by
    /// what is staged.
    fn overlay(&self, from: &[u8], to: &[u8]) -> Vec<Staged> {
        let l = lock(&self.layers);
        if from >= to || (l.staged.is_empty() && l.applying.is_none()) {
            return Vec::new();
        }
        let bounds = (
            std::ops::Bound::Included(from),
            std::ops::Bound::Excluded(to),
        );
        let mut view: BTreeMap<&[u8], &Option<Vec<u8>>> = BTreeMap::new();
        if let Some(a) = &l.applying {
            view.extend(
                a.range::<[u8], _>(bounds)
                    .map(|(k, c)| (k.as_slice(), &c.value)),
            );
        }
        view.extend(
            l.staged
                .range::<[u8], _>(bounds)
                .map(|(k, c)| (k.as_slice(), &c.value)),
        );
        view.into_iter()
            .map(|(k, v)| (k.to_vec(), v.clone()))
            .collect()
    }
}

/// What a staged entry counts against [`STAGED_LIMIT`].
fn size(key: &[u8], c: &Change) -> usize {
    key.len() + c.value.as_ref().map_or(0, Vec::len) + 32
}

impl Layers {
    /// Stages `value` for `key` (`None` deletes), keeping the byte count.
    fn set(&mut self, key: Vec<u8>, value: Option<Vec<u8>>, fresh: bool) {
        self.forget(&key);
        let c = Change { value, fresh };
        self.staged_bytes += size(&key, &c);
        self.staged.insert(key, c);
    }

    /// Drops whatever is staged for `key`, keeping the byte count.
    fn forget(&mut self, key: &[u8]) {
        if let Some(old) = self.staged.remove(key) {
            self.staged_bytes = self.staged_bytes.saturating_sub(size(key, &old));
        }
    }
}

impl Store for Staging {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let applying = {
            let l = lock(&self.layers);
            if let Some(c) = l.staged.get(key) {
                return Ok(c.value.clone());
            }
            l.applying.clone()
        };
        if let Some(c) = applying.as_ref().and_then(|a| a.get(key)) {
            return Ok(c.value.clone());
        }
        self.engine.get(key)
    }

    fn range(&self, from: &[u8], to: &[u8], reverse: bool) -> Entries<'_> {
        let mut overlay = self.overlay(from, to);
        let engine = self.engine.range(from, to, reverse);
        if overlay.is_empty() {
            return engine;
        }
        if reverse {
            overlay.reverse();
        }
        Box::new(Merged {
            engine: engine.peekable(),
            overlay: overlay.into_iter().peekable(),
            reverse,
        })
    }

    fn apply(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        self.stage(ops);
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.drain()?;
        self.engine.flush()
    }
}

/// An engine scan with the staged view laid over it (both in the same direction).
struct Merged<'a> {
    engine: std::iter::Peekable<Entries<'a>>,
    overlay: std::iter::Peekable<std::vec::IntoIter<Staged>>,
    reverse: bool,
}

impl Iterator for Merged<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        use std::cmp::Ordering;
        loop {
            let Some((staged, _)) = self.overlay.peek() else {
                return self.engine.next();
            };
            // Which comes first in scan order: the staged key or the engine's.
            let order = match self.engine.peek() {
                None => Ordering::Less,
                Some(Err(_)) => return self.engine.next(),
                Some(Ok((key, _))) if self.reverse => key.cmp(staged),
                Some(Ok((key, _))) => staged.cmp(key),
            };
            match order {
                Ordering::Greater => return self.engine.next(),
                // The staged change replaces the engine's entry.
                Ordering::Equal => drop(self.engine.next()),
                Ordering::Less => {}
            }
            // A staged delete hides the key.
            if let Some((k, Some(v))) = self.overlay.next() {
                return Some(Ok((k, v)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SledStore;

    fn no_merge(_: &[u8], _: &[u8], _: &[u8], _: &[u8]) -> Option<Vec<u8>> {
        None
    }

    fn sled() -> (tempfile::TempDir, Arc<SledStore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SledStore::open(dir.path(), 8 << 20, None).unwrap());
        (dir, store)
    }

    fn scan(s: &dyn Store, from: &[u8], to: &[u8], reverse: bool) -> Vec<(Vec<u8>, Vec<u8>)> {
        s.range(from, to, reverse).map(Result::unwrap).collect()
    }

    /// Random puts, creates and deletes over a small key space, handed to the real engine at
    /// random points: every read through the staging layer matches a plain map, before and
    /// after each hand-over, in both scan directions and for any bounds.
    #[test]
    fn reads_see_every_change_in_order_whether_staged_or_handed_over() {
        let (_dir, engine) = sled();
        let staging = Staging::new(engine.clone(), no_merge);
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for round in 0..3000u64 {
            let key = format!("k/{:02}", next(40)).into_bytes();
            let value = round.to_be_bytes().to_vec();
            let op = match next(3) {
                // `Create` only for keys that do not exist, as its contract says.
                0 if !model.contains_key(&key) => Op::Create(key.clone(), value.clone()),
                0 | 1 => Op::Put(key.clone(), value.clone()),
                _ => Op::Delete(key.clone()),
            };
            match &op {
                Op::Put(k, v) | Op::Create(k, v) => model.insert(k.clone(), v.clone()),
                Op::Delete(k) => model.remove(k),
            };
            staging.stage(vec![op]);
            if next(50) == 0 {
                staging.drain().unwrap();
                assert_eq!(staging.staged_bytes(), 0);
            }
            let probe = format!("k/{:02}", next(40)).into_bytes();
            assert_eq!(staging.get(&probe).unwrap(), model.get(&probe).cloned());
            let (a, b) = (
                format!("k/{:02}", next(42)).into_bytes(),
                format!("k/{:02}", next(42)).into_bytes(),
            );
            let want: Vec<_> = model
                .range(a.clone()..b.clone().max(a.clone()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            assert_eq!(scan(&staging, &a, &b, false), want, "round {round}");
            let mut back = want;
            back.reverse();
            assert_eq!(scan(&staging, &a, &b, true), back, "round {round} reversed");
        }
        staging.drain().unwrap();
        let everything: Vec<_> = model.into_iter().collect();
        assert_eq!(
            scan(engine.as_ref(), b"k/", b"k0", false),
            everything,
            "the engine holds what was read"
        );
    }

    /// A thread hands over continuously while another writes and reads: nothing written is
    /// ever missing from a read, whichever layer holds it at that moment.
    #[test]
    fn nothing_disappears_from_reads_while_it_is_being_handed_over() {
        let (_dir, engine) = sled();
        let staging = Arc::new(Staging::new(engine, no_merge));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let drainer = {
            let (staging, stop) = (staging.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    staging.drain().unwrap();
                }
            })
        };
        for i in 0..2000u32 {
            let key = format!("k/{i:05}").into_bytes();
            staging.stage(vec![Op::Create(key.clone(), i.to_be_bytes().to_vec())]);
            assert!(staging.get(&key).unwrap().is_some(), "key {i}");
            if i % 100 == 99 {
                assert_eq!(
                    scan(staging.as_ref(), b"k/", b"k0", false).len(),
                    i as usize + 1
                );
                assert_eq!(
                    scan(staging.as_ref(), b"k/", b"k0", true).len(),
                    i as usize + 1
                );
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        drainer.join().unwrap();
    }

    #[test]
    fn a_key_created_and_deleted_between_hand_overs_never_reaches_the_engine() {
        let (_dir, engine) = sled();
        engine
            .apply(vec![Op::Put(b"old".to_vec(), b"1".to_vec())])
            .unwrap();
        let staging = Staging::new(engine.clone(), no_merge);
        staging.stage(vec![
            Op::Create(b"r/new".to_vec(), b"x".to_vec()),
            Op::Create(b"s/new".to_vec(), b"y".to_vec()),
        ]);
        staging.stage(vec![
            Op::Delete(b"r/new".to_vec()),
            Op::Delete(b"old".to_vec()),
        ]);
        assert_eq!(
            staging.get(b"old").unwrap(),
            None,
            "a staged delete hides it"
        );
        assert_eq!(engine.get(b"old").unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(
            staging.layers.lock().unwrap().staged.len(),
            2,
            "s/new and the delete of old; r/new is gone"
        );
        staging.drain().unwrap();
        assert_eq!(engine.get(b"old").unwrap(), None);
        assert_eq!(engine.get(b"r/new").unwrap(), None);
        assert_eq!(engine.get(b"s/new").unwrap().as_deref(), Some(&b"y"[..]));
    }

    #[test]
    fn a_create_folds_into_the_fresh_record_before_it_when_the_merge_says_so() {
        let (_dir, engine) = sled();
        // Folds "a/N" into "a/M" by appending values.
        let append: Merge = |pk, pv, k, v| {
            (pk.starts_with(b"a/") && k.starts_with(b"a/")).then(|| [pv, v].concat())
        };
        let staging = Staging::new(engine.clone(), append);
        staging.stage(vec![Op::Create(b"a/1".to_vec(), b"x".to_vec())]);
        staging.stage(vec![Op::Create(b"a/2".to_vec(), b"y".to_vec())]);
        assert_eq!(staging.get(b"a/1").unwrap().as_deref(), Some(&b"xy"[..]));
        assert_eq!(staging.get(b"a/2").unwrap(), None);
        staging.drain().unwrap();
        // Not fresh any more: the next one is a key of its own.
        staging.stage(vec![Op::Create(b"a/3".to_vec(), b"z".to_vec())]);
        staging.drain().unwrap();
        assert_eq!(
            scan(engine.as_ref(), b"a/", b"a0", false),
            vec![
                (b"a/1".to_vec(), b"xy".to_vec()),
                (b"a/3".to_vec(), b"z".to_vec())
            ]
        );
    }
}
