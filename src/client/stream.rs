//! A task's events as they arrive (SSE or gRPC), resumed with `Last-Event-ID` after a dropped
//! connection before the caller notices.

use super::*;

/// Where a stream's events come from.
pub(super) enum Source {
    Sse(reqwest::Response),
    Grpc(
        Box<tonic::codec::Streaming<bytes::Bytes>>,
        prost_reflect::MethodDescriptor,
    ),
}

/// The events of one task, as they arrive; a dropped connection is resubscribed with
/// `Last-Event-ID` before the caller notices.
pub struct EventStream {
    client: Client,
    source: Option<Source>,
    parser: SseParser,
    pending: std::collections::VecDeque<sse::SseEvent>,
    pub(super) task_id: Option<String>,
    last_id: Option<u64>,
    resumes: u32,
    done: bool,
    /// A SubscribeToTask stream (see `decode`).
    pub(super) watching: bool,
    /// Events handed out so far.
    events: u64,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("task_id", &self.task_id)
            .finish_non_exhaustive()
    }
}

impl EventStream {
    pub(super) fn new(client: Client) -> Self {
        Self {
            client,
            source: None,
            parser: SseParser::new(MAX_EVENT),
            pending: Default::default(),
            task_id: None,
            last_id: None,
            resumes: 0,
            done: false,
            watching: false,
            events: 0,
        }
    }

    pub(super) async fn open(
        &mut self,
        op: Operation,
        params: Value,
        last_id: Option<u64>,
    ) -> Result<(), ClientError> {
        let client = self.client.clone();
        if let Binding::Grpc(conn) = &client.binding {
            let once = || async {
                let (mut md, token) = client.metadata().await?;
                if let Some(id) = last_id {
                    md.push(("last-event-id".into(), id.to_string()));
                }
                let r = grpc::open(conn, op.name(), &params, &md).await;
                client.grpc_refused(r, token).await
            };
            let (stream, m) = client.with_retries(once).await?;
            self.source = Some(Source::Grpc(Box::new(stream), m));
            return Ok(());
        }
        let once = || async {
            let req = client
                .build(op, &params)
                .map_err(|e| Attempt::Fail(e, true))?;
            let req = match last_id {
                Some(id) => req.header("Last-Event-ID", id.to_string()),
                None => req,
            };
            let resp = client.send_once(req).await?;
            let is_sse = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| ct.starts_with("text/event-stream"));
            if is_sse {
                return Ok(resp);
            }
            let status = resp.status().as_u16();
            let answered = status < 500;
            let v = read_json(resp)
                .await
                .map_err(|e| Attempt::Fail(e, answered))?;
            Err(Attempt::Fail(error_of(&v), answered))
        };
        let resp = client.with_retries(once).await?;
        self.parser = SseParser::new(MAX_EVENT);
        self.source = Some(Source::Sse(resp));
        Ok(())
    }

    /// The next event, or `None` once the task reached a final or interrupted state (or a bare
    /// Message came).
    pub async fn next(&mut self) -> Option<Result<StreamResponse, ClientError>> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Some(self.decode(ev));
            }
            if self.done {
                return None;
            }
            let idle = self.client.idle;
            let read = match self.source.as_mut() {
                Some(Source::Sse(r)) => match tokio::time::timeout(idle, r.chunk()).await {
                    Ok(Ok(Some(bytes))) => self
                        .parser
                        .feed(&bytes)
                        .map(|evs| (false, evs))
                        .map_err(ClientError::Protocol),
                    _ => Ok((true, Vec::new())),
                },
                Some(Source::Grpc(s, m)) => match tokio::time::timeout(idle, s.message()).await {
                    Ok(Ok(Some(bytes))) => grpc::to_json(m, bytes).map(|v| {
                        let ev = sse::SseEvent {
                            event: "message".into(),
                            data: v.to_string(),
                            id: None,
                        };
                        (false, vec![ev])
                    }),
                    Ok(Err(status)) => match grpc::failed(&status) {
                        Attempt::Fail(e, _) => Err(e),
                        Attempt::Retry(..) => Ok((true, Vec::new())),
                    },
                    _ => Ok((true, Vec::new())),
                },
                None => return None,
            };
            // `(ended, events)`
            match read {
                Ok((false, evs)) => self.pending.extend(evs),
                // The stream ended (or broke) before a final event: resubscribe from the last id.
                Ok((true, _)) => {
                    if let Err(e) = self.resume().await {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }

    async fn resume(&mut self) -> Result<(), ClientError> {
        self.source = None;
        let Some(task) = self.task_id.clone() else {
            return Err(ClientError::Transport(
                "the stream ended before the task was known".into(),
            ));
        };
        if self.resumes >= MAX_RESUMES {
            return Err(ClientError::Transport(format!(
                "the stream dropped {MAX_RESUMES} times"
            )));
        }
        self.resumes += 1;
        tokio::time::sleep(Duration::from_millis(100 << self.resumes.min(5))).await;
        self.open(
            Operation::SubscribeToTask,
            json!({"id": task}),
            self.last_id,
        )
        .await
    }

    fn decode(&mut self, ev: sse::SseEvent) -> Result<StreamResponse, ClientError> {
        let v: Value = serde_json::from_str(&ev.data)
            .map_err(|e| ClientError::Protocol(format!("event data: {e}")))?;
        if ev.event == "error" || v.get("error").is_some() {
            self.done = true;
            return Err(error_of(&v));
        }
        let result = match self.client.binding {
            Binding::JsonRpc(_) => v.get("result").cloned().unwrap_or(Value::Null),
            Binding::JsonRpcV03(_) => v03::event_to_v1(v.get("result").unwrap_or(&Value::Null)),
            Binding::Rest(_) | Binding::Grpc(_) => v,
        };
        let sr: StreamResponse = serde_json::from_value(result)
            .map_err(|e| ClientError::Protocol(format!("event: {e}")))?;
        if let Some(id) = ev.id.as_deref().and_then(|i| i.parse().ok()) {
            self.last_id = Some(id);
        }
        let (task, closes) = match &sr {
            StreamResponse::Task(t) => (
                Some(t.id.clone()),
                t.status.state.is_terminal() || t.status.state.is_interrupted(),
            ),
            StreamResponse::Message(_) => (None, true),
            StreamResponse::StatusUpdate(u) => (
                Some(u.task_id.clone()),
                u.status.state.is_terminal() || u.status.state.is_interrupted(),
            ),
            StreamResponse::ArtifactUpdate(u) => (Some(u.task_id.clone()), false),
        };
        if self.task_id.is_none() {
            self.task_id = task;
        }
        // A subscription's first snapshot of a waiting task does not end it: the server keeps
        // it open for the next turn.
        let waiting_snapshot = self.watching
            && self.events == 0
            && matches!(&sr, StreamResponse::Task(t) if !t.status.state.is_terminal());
        self.events += 1;
        if closes && !waiting_snapshot {
            self.done = true;
            self.source = None;
        }
        Ok(sr)
    }
}
