//! A test engine that fails on command: the real sled store (through [`Recording`]) until
//! [`Failing::fail`] is called, then every batch and flush fails as a full disk would.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use super::recording::Recording;
use super::{Entries, Op, Store, StoreError};

pub(crate) struct Failing {
    inner: Recording,
    failing: AtomicBool,
}

impl Failing {
    pub(crate) fn open(dir: &Path) -> Self {
        Self {
            inner: Recording::open(dir),
            failing: AtomicBool::new(false),
        }
    }

    /// From now on every batch and flush fails.
    pub(crate) fn fail(&self) {
        self.failing.store(true, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            let full = std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "No space left on device (injected)",
            );
            return Err(StoreError::engine("injected", full));
        }
        Ok(())
    }
}

impl Store for Failing {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key)
    }
    fn range(&self, from: &[u8], to: &[u8], reverse: bool) -> Entries<'_> {
        self.inner.range(from, to, reverse)
    }
    fn apply(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        self.check()?;
        self.inner.apply(ops)
    }
    fn flush(&self) -> Result<(), StoreError> {
        self.check()?;
        self.inner.flush()
    }
}
