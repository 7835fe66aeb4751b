//! The embedded default engine: sled 0.34.7, one tree.

use std::path::Path;

use super::{Entries, Op, Store, StoreError};

/// A [`Store`] on a sled database in a directory.
#[derive(Debug, Clone)]
pub struct SledStore {
    db: sled::Db,
    tree: sled::Tree,
}

impl SledStore {
    /// Opens (or creates) the database in `dir`, caching up to `cache_bytes` of it in memory.
    /// Background flushes run every `flush_every_ms` as a safety net; durability comes from
    /// explicit flushes.
    pub fn open(
        dir: &Path,
        cache_bytes: u64,
        flush_every_ms: Option<u64>,
    ) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes)
            .mode(sled::Mode::LowSpace)
            .flush_every_ms(flush_every_ms)
            .open()
            .map_err(|e| {
                StoreError::engine(format!("cannot open data directory {}", dir.display()), e)
            })?;
        let tree = db.open_tree("a2a").map_err(io)?;
        Ok(Self { db, tree })
    }
}

fn io(e: sled::Error) -> StoreError {
    match e {
        sled::Error::Corruption { .. } => StoreError::Corrupt(e.to_string()),
        other => StoreError::engine("sled", other),
    }
}

impl Store for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.tree.get(key).map_err(io)?.map(|v| v.to_vec()))
    }

    fn range(&self, from: &[u8], to: &[u8], reverse: bool) -> Entries<'_> {
        let iter = self.tree.range(from.to_vec()..to.to_vec());
        let map = |kv: sled::Result<(sled::IVec, sled::IVec)>| {
            kv.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(io)
        };
        if reverse {
            Box::new(iter.rev().map(map))
        } else {
            Box::new(iter.map(map))
        }
    }

    fn apply(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for op in ops {
            match op {
                Op::Put(k, v) | Op::Create(k, v) => batch.insert(k, v),
                Op::Delete(k) => batch.remove(k),
            }
        }
        self.tree.apply_batch(batch).map_err(io)
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(io)
    }
}
