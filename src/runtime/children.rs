//! The live children of an agent or session actor: by key (context id, task id), each with how
//! many messages it was sent, and by actor id, so a child's exit finds its entry without a scan.

use std::collections::HashMap;

use ractor::{ActorId, ActorRef};

pub(crate) struct Children<M> {
    by_key: HashMap<String, (ActorRef<M>, u64)>,
    keys: HashMap<ActorId, String>,
}

impl<M> Default for Children<M> {
    fn default() -> Self {
        Self {
            by_key: HashMap::new(),
            keys: HashMap::new(),
        }
    }
}

impl<M> Children<M> {
    /// The child of `key` and the messages it was sent.
    pub(crate) fn get(&self, key: &str) -> Option<&(ActorRef<M>, u64)> {
        self.by_key.get(key)
    }

    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut (ActorRef<M>, u64)> {
        self.by_key.get_mut(key)
    }

    /// Keeps a new child of `key`, sent `sent` messages so far.
    pub(crate) fn insert(
        &mut self,
        key: String,
        actor: ActorRef<M>,
        sent: u64,
    ) -> &mut (ActorRef<M>, u64) {
        self.keys.insert(actor.get_id(), key.clone());
        self.by_key
            .entry(key)
            .insert_entry((actor, sent))
            .into_mut()
    }

    /// Forgets the child of `key` (it stopped, or is being stopped); `true` if it was kept.
    pub(crate) fn forget(&mut self, key: &str) -> bool {
        let Some((actor, _)) = self.by_key.remove(key) else {
            return false;
        };
        self.keys.remove(&actor.get_id());
        true
    }

    /// Forgets the child that exited as `id`; `true` if it was still kept (it died rather than
    /// being stopped for idleness, which forgets it first).
    pub(crate) fn exited(&mut self, id: ActorId) -> bool {
        let Some(key) = self.keys.remove(&id) else {
            return false;
        };
        if self.by_key.get(&key).is_some_and(|(a, _)| a.get_id() == id) {
            self.by_key.remove(&key);
        }
        true
    }

    pub(crate) fn len(&self) -> usize {
        self.by_key.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}
