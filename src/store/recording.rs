//! A test engine: the real sled store, recording what the writer and the staging layer ask of
//! it (the batches, the flushes, and which keys each flush made durable).

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Entries, Op, SledStore, Store, StoreError};

/// A batch as `(key, put)` per op (`put` false: a delete).
type Batch = Vec<(Vec<u8>, bool)>;
type Keys = HashSet<Vec<u8>>;

pub(crate) struct Recording {
    inner: SledStore,
    /// Every batch given.
    batches: Mutex<Vec<Batch>>,
    flushes: AtomicUsize,
    /// Keys the engine was given, and those it held when a flush began (so made durable).
    keys: Mutex<(Keys, Keys)>,
}

impl Recording {
    pub(crate) fn open(dir: &Path) -> Self {
        Self {
            inner: SledStore::open(dir, 8 << 20, None).unwrap(),
            batches: Mutex::default(),
            flushes: AtomicUsize::new(0),
            keys: Mutex::default(),
        }
    }

    /// Batches applied so far.
    pub(crate) fn applies(&self) -> usize {
        self.batches.lock().unwrap().len()
    }

    /// Flushes so far.
    pub(crate) fn flushes(&self) -> usize {
        self.flushes.load(Ordering::SeqCst)
    }

    /// Whether a flush that began once the engine held `key` has finished.
    pub(crate) fn flushed(&self, key: &[u8]) -> bool {
        self.keys.lock().unwrap().1.contains(key)
    }

    /// Each batch as `put e/`, `delete r/`, …: the op and its key's two-byte prefix.
    pub(crate) fn batch_prefixes(&self) -> Vec<Vec<String>> {
        let batches = self.batches.lock().unwrap();
        batches
            .iter()
            .map(|b| {
                b.iter()
                    .map(|(k, put)| {
                        let op = if *put { "put" } else { "delete" };
                        format!("{op} {}", String::from_utf8_lossy(&k[..2]))
                    })
                    .collect()
            })
            .collect()
    }
}

impl Store for Recording {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key)
    }
    fn range(&self, from: &[u8], to: &[u8], reverse: bool) -> Entries<'_> {
        self.inner.range(from, to, reverse)
    }
    fn apply(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        let batch: Batch = ops
            .iter()
            .map(|op| match op {
                Op::Put(k, _) | Op::Create(k, _) => (k.clone(), true),
                Op::Delete(k) => (k.clone(), false),
            })
            .collect();
        self.inner.apply(ops)?;
        let puts = batch.iter().filter(|(_, put)| *put).map(|(k, _)| k.clone());
        self.keys.lock().unwrap().0.extend(puts);
        self.batches.lock().unwrap().push(batch);
        Ok(())
    }
    fn flush(&self) -> Result<(), StoreError> {
        self.flushes.fetch_add(1, Ordering::SeqCst);
        let held = self.keys.lock().unwrap().0.clone();
        self.inner.flush()?;
        self.keys.lock().unwrap().1.extend(held);
        Ok(())
    }
}
