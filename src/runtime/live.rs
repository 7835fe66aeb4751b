//! Tasks that have a live actor right now.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::core::TaskCore;

/// Tasks with a live actor, so a repeated send can wait for the original's outcome.
#[derive(Default)]
pub(crate) struct LiveTasks(Mutex<HashMap<String, Arc<TaskCore>>>);

/// Removes a task from [`LiveTasks`] when its actor's state is dropped, however it ends.
pub(crate) struct LiveGuard(Arc<LiveTasks>, String);

impl LiveGuard {
    pub(crate) fn register(live: &Arc<LiveTasks>, core: Arc<TaskCore>) -> Self {
        let id = core.id.clone();
        if let Ok(mut m) = live.0.lock() {
            m.insert(id.clone(), core);
        }
        Self(live.clone(), id)
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        if let Ok(mut m) = self.0.0.lock() {
            m.remove(&self.1);
        }
    }
}

impl LiveTasks {
    pub(crate) fn get(&self, id: &str) -> Option<Arc<TaskCore>> {
        self.0.lock().ok().and_then(|m| m.get(id).cloned())
    }

    pub(crate) fn len(&self) -> usize {
        self.0.lock().map(|m| m.len()).unwrap_or(0)
    }
}
