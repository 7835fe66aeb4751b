//! Reading the log: a task (snapshot plus later events), its events after a sequence number,
//! the unfinished tasks, and ListTasks over the status index with its page tokens.

use super::*;

impl Log {
    /// Reads a task: its snapshot with every later event folded in.
    ///
    /// Reads take no lock, and a range scan racing a batch can see a later key of the batch
    /// but not an earlier one; so only a gap-free run of sequence numbers is folded, and a gap is
    /// read again (the missing event was written before the one after it).
    pub fn task(&self, id: &str) -> Result<Option<TaskRecord>, StoreError> {
        // A task without a snapshot starts from its header, whose record holds its first events.
        let (mut rec, mut first) = match self.store.get(&task_key(id))? {
            Some(bytes) => (TaskRecord::decode(&bytes)?, Vec::new()),
            None => match self.header(id)? {
                Some(found) => found,
                None => return Ok(None),
            },
        };
        let mut gaps = 0;
        loop {
            let events = if first.is_empty() {
                self.events_after(id, rec.next_seq.saturating_sub(1), 256)?
            } else {
                std::mem::take(&mut first)
            };
            if events.is_empty() {
                return Ok(Some(rec));
            }
            for ev in events {
                if ev.seq != rec.next_seq {
                    gaps += 1;
                    if gaps > 100 {
                        return Err(StoreError::Corrupt(format!(
                            "task {id}: event {} is missing",
                            rec.next_seq
                        )));
                    }
                    std::thread::yield_now();
                    break;
                }
                rec.task
                    .apply_event(&ev.event()?)
                    .map_err(|e| StoreError::Corrupt(format!("task {id} event {}: {e}", ev.seq)))?;
                rec.next_seq = ev.seq + 1;
            }
        }
    }

    /// The header a task's log starts with (sequence number 0), for a task with no snapshot,
    /// and the events after it in the same record. `None` when the task does not exist, or is
    /// being deleted (its records go in one batch, but a scan racing that batch may see some).
    fn header(&self, id: &str) -> Result<Option<(TaskRecord, Vec<EventRecord>)>, StoreError> {
        let prefix = event_prefix(id);
        let Some(first) = self.store.range(&prefix, &event_key(id, 1), false).next() else {
            return Ok(None);
        };
        let (_, record) = first?;
        let mut run = EventRecord::decode_all(&record)?.into_iter();
        match run.next() {
            Some(head) if head.seq == 0 => {
                Ok(Some((TaskRecord::decode(&head.json)?, run.collect())))
            }
            _ => Ok(None),
        }
    }

    /// The task an earlier send of `message_id` by `owner` to `agent` created, if any.
    pub fn idempotent_task(
        &self,
        agent: &str,
        owner: &str,
        message_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .store
            .get(&idem_key(agent, owner, message_id))?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// Every task that was not final when last written, read through the `r/` index.
    pub fn active_tasks(&self) -> Result<Vec<TaskRecord>, StoreError> {
        let mut out = Vec::new();
        for kv in self.store.range(b"r/", &prefix_end(b"r/"), false) {
            let (k, v) = kv?;
            let entry = StatusEntry::parse(&k, &v)?;
            if let Some(t) = self.task(&String::from_utf8_lossy(entry.task))? {
                out.push(t);
            }
        }
        Ok(out)
    }

    /// Events of a task with `seq > after`, in order: at most `limit` of them and, past the first,
    /// no more than about [`PAGE_BYTES`] (a reader of large chunks holds one page, not the log).
    pub fn events_after(
        &self,
        task: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let want = after.saturating_add(1);
        let prefix = event_prefix(task);
        // Records are keyed by their first event: start at the one holding `want` or, when
        // retention removed it, at the oldest one kept (the reader sees the gap).
        let upto = event_key(task, want.saturating_add(1));
        let start = match self.store.range(&prefix, &upto, true).next() {
            Some(kv) => kv?.0,
            None => prefix.clone(),
        };
        let mut out = Vec::new();
        let mut bytes = 0;
        'records: for kv in self.store.range(&start, &prefix_end(&prefix), false) {
            let (_, v) = kv?;
            for e in EventRecord::decode_all(&v)?
                .into_iter()
                .filter(|e| e.seq > after)
            {
                if out.len() >= limit || (!out.is_empty() && bytes + e.json.len() > PAGE_BYTES) {
                    break 'records;
                }
                bytes += e.json.len();
                out.push(e);
            }
        }
        Ok(out)
    }

    /// ListTasks: the caller's tasks matching the filters, newest status first (ties by id,
    /// descending), one page at a time. Filtering reads only the status index; snapshots are
    /// decoded for the returned page alone. `totalSize` needs every match counted, so this is
    /// linear in the caller's tasks.
    pub fn list_tasks(&self, q: &TaskQuery) -> Result<TaskPage, StoreError> {
        let cursor = decode_page_token(&q.page_token)?;
        let after_nanos = q
            .status_after
            .map(|t| u64::try_from(t.unix_nanos().max(0)).unwrap_or(u64::MAX));
        let mut total = 0usize;
        let mut page: Vec<Vec<u8>> = Vec::new();
        let mut last_key = Vec::new();
        let mut more = false;
        let running = self.store.range(b"r/", &prefix_end(b"r/"), true);
        let settled = self.store.range(b"s/", &prefix_end(b"s/"), true);
        for kv in merge_desc(running, settled) {
            let (k, v) = kv?;
            let entry = StatusEntry::parse(&k, &v)?;
            if after_nanos.is_some_and(|a| entry.nanos < a) {
                break; // descending: everything further is older
            }
            if entry.agent != q.agent.as_bytes()
                || entry.owner != q.owner.as_bytes()
                || (!q.context_id.is_empty() && entry.context != q.context_id.as_bytes())
                || q.state
                    .is_some_and(|s| i32::from(entry.state) != s.number())
            {
                continue;
            }
            total += 1;
            if cursor.as_ref().is_some_and(|c| k[2..] >= c[2..]) {
                continue; // on an earlier page
            }
            if page.len() < q.page_size {
                page.push(entry.task.to_vec());
                last_key = k;
            } else {
                more = true;
            }
        }
        let mut tasks = Vec::with_capacity(page.len());
        for id in &page {
            if let Some(t) = self.task(&String::from_utf8_lossy(id))? {
                tasks.push(t);
            }
        }
        let next_page_token = if more {
            encode_page_token(&last_key)
        } else {
            String::new()
        };
        Ok(TaskPage {
            tasks,
            next_page_token,
            total_size: total,
        })
    }
}

/// Merges two descending index scans (`r/` and `s/`) by their time-and-id suffix.
pub(super) fn merge_desc<'a>(
    a: Entries<'a>,
    b: Entries<'a>,
) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>> + 'a {
    let mut a = a.peekable();
    let mut b = b.peekable();
    std::iter::from_fn(move || {
        let take_a = match (a.peek(), b.peek()) {
            (None, None) => return None,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(Err(_)), _) => true,
            (_, Some(Err(_))) => false,
            (Some(Ok((ka, _))), Some(Ok((kb, _)))) => ka[2..] >= kb[2..],
        };
        if take_a { a.next() } else { b.next() }
    })
}

/// One entry of the status index, borrowed from its key and value.
pub(super) struct StatusEntry<'a> {
    nanos: u64,
    task: &'a [u8],
    state: u8,
    agent: &'a [u8],
    owner: &'a [u8],
    context: &'a [u8],
}

impl<'a> StatusEntry<'a> {
    fn parse(k: &'a [u8], v: &'a [u8]) -> Result<Self, StoreError> {
        let corrupt = || StoreError::Corrupt("status index entry".into());
        let nanos = u64::from_be_bytes(
            k.get(2..10)
                .and_then(|s| s.try_into().ok())
                .ok_or_else(corrupt)?,
        );
        let (&state, rest) = v.split_first().ok_or_else(corrupt)?;
        let mut fields = rest.splitn(3, |b| *b == 0);
        let agent = fields.next().ok_or_else(corrupt)?;
        let owner = fields.next().ok_or_else(corrupt)?;
        let context = fields.next().ok_or_else(corrupt)?;
        Ok(Self {
            nanos,
            task: &k[10..],
            state,
            agent,
            owner,
            context,
        })
    }
}

pub(super) fn encode_page_token(status_key: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(status_key)
}

/// `Err(Corrupt)` is never returned for a bad token: callers map `None`-vs-invalid themselves.
pub(super) fn decode_page_token(token: &str) -> Result<Option<Vec<u8>>, StoreError> {
    if token.is_empty() {
        return Ok(None);
    }
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .filter(|k| (k.starts_with(b"s/") || k.starts_with(b"r/")) && k.len() > 10))
}

/// Whether a page token is one this store could have issued.
pub fn page_token_is_valid(token: &str) -> bool {
    token.is_empty() || decode_page_token(token).ok().flatten().is_some()
}
