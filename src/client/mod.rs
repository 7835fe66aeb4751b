//! An A2A 1.0 client: discovers an agent from its card, speaks JSON-RPC or HTTP+JSON (REST) to
//! it, and reads streams with a W3C SSE parser that resumes a dropped stream by itself.
//!
//! ```no_run
//! # async fn run() -> Result<(), a2a_runtime::client::ClientError> {
//! use a2a_runtime::client::Client;
//! let client = Client::discover("http://127.0.0.1:7420", Default::default()).await?;
//! let answer = client.send_text("hello").await?;
//! # Ok(()) }
//! ```
//!
//! Every request carries `A2A-Version: 1.0`. A stream that drops before its task reaches a
//! final or interrupted state is resubscribed with `Last-Event-ID` (against this runtime every
//! event arrives once; against servers without the extension the Task snapshot comes first).
//!
//! Unary calls are retried on connection failures, timeouts and 429/502/503/504 (honouring
//! `Retry-After`) with exponential backoff and full jitter, within a retry budget; sends too,
//! since the message keeps its `messageId` (this runtime runs it once). A circuit breaker per
//! client (one remote agent) fails calls at once while the remote keeps failing.
//!
//! An agent whose card offers only A2A 0.3 is spoken to in 0.3 JSON-RPC (`message/send`,
//! `kind`, lowercase states), translated to and from the 1.0 types here, so callers see 1.0
//! either way; ListTasks, which 0.3 lacks, fails with `UNSUPPORTED_OPERATION`.

mod auth;
mod card;
mod grpc;
pub mod resilience;
pub mod sse;
mod stream;
mod wire;

use std::sync::Arc;

pub use auth::{Token, TokenCache, TokenFuture, TokenProvider};
use resilience::{Breaker, RetryBudget};
pub use resilience::{BreakerPolicy, BreakerState, RetryPolicy};

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::protocol::v03;
use crate::protocol::{
    AgentCard, CancelTaskRequest, GetTaskRequest, ListTaskPushNotificationConfigsResponse,
    ListTasksRequest, ListTasksResponse, Message, Operation, Part, Role, SendMessageConfiguration,
    SendMessageRequest, SendMessageResponse, StreamResponse, Task, TaskPushNotificationConfig,
    Verb, percent_encode,
};
use sse::SseParser;

use self::card::*;
pub use self::stream::EventStream;
use self::wire::*;

/// The bindings this client speaks.
const KNOWN_BINDINGS: [&str; 3] = ["JSONRPC", "HTTP+JSON", "GRPC"];

/// Largest SSE event the client accepts.
const MAX_EVENT: usize = 64 << 20;
/// Resubscriptions after drops, per stream, before giving up.
const MAX_RESUMES: u32 = 5;

/// Why a call failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The agent answered with an A2A error.
    #[error("{reason} ({code}): {message}")]
    A2a {
        /// The `ErrorInfo` reason, e.g. `TASK_NOT_FOUND`.
        reason: String,
        /// The JSON-RPC code (or the HTTP status over REST).
        code: i64,
        message: String,
    },
    /// The connection failed or timed out.
    #[error("TRANSPORT: cannot reach the agent: {0}")]
    Transport(String),
    /// The answer is not what A2A says it should be.
    #[error("PROTOCOL: the agent's answer is not valid A2A: {0}")]
    Protocol(String),
    /// The circuit breaker is open: the remote failed repeatedly; no call was made.
    #[error("CIRCUIT_OPEN: the agent failed {0} calls in a row; not calling it for a while")]
    CircuitOpen(u32),
    /// No credentials could be had (the token provider failed); no call was made.
    #[error("AUTH: no credentials: {0}")]
    Auth(String),
}

impl ClientError {
    /// A short name for the error, for exit messages: the A2A reason, or TRANSPORT / PROTOCOL.
    pub fn name(&self) -> &str {
        match self {
            Self::A2a { reason, .. } => reason,
            Self::Transport(_) => "TRANSPORT",
            Self::Protocol(_) => "PROTOCOL",
            Self::CircuitOpen(_) => "CIRCUIT_OPEN",
            Self::Auth(_) => "AUTH",
        }
    }
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Bindings in order of preference (`JSONRPC`, `HTTP+JSON`, `GRPC`); the first the card
    /// offers wins. Empty (the default): the card's own preference, its first interface this
    /// client speaks.
    pub bindings: Vec<String>,
    /// Extra headers on every request (credentials and the like).
    pub headers: Vec<(String, String)>,
    /// How long a connection may sit without bytes before the call fails; a stream where events
    /// keep coming is never cut.
    pub idle_timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
    pub breaker: BreakerPolicy,
    /// Bearer tokens, when set ([`ClientOptions::bearer`]).
    pub bearer: Option<Arc<TokenCache>>,
}

impl ClientOptions {
    /// Sends `key` in the header `name` (say `X-API-Key`) on every request.
    #[must_use]
    pub fn api_key(mut self, name: impl Into<String>, key: impl Into<String>) -> Self {
        self.headers.push((name.into(), key.into()));
        self
    }

    /// Sends `Authorization: Bearer <token>` with tokens from `provider`, fetched again shortly
    /// before each expires, or when the agent answers 401.
    #[must_use]
    pub fn bearer(mut self, provider: impl TokenProvider) -> Self {
        self.bearer = Some(Arc::new(TokenCache::new(provider)));
        self
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            bindings: Vec::new(),
            headers: Vec::new(),
            idle_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            breaker: BreakerPolicy::default(),
            bearer: None,
        }
    }
}

#[derive(Debug, Clone)]
enum Binding {
    JsonRpc(String),
    /// JSON-RPC to an agent whose card offers only A2A 0.3.
    JsonRpcV03(String),
    Rest(String),
    Grpc(grpc::GrpcConn),
}

/// A client of one agent.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    card: AgentCard,
    binding: Binding,
    headers: reqwest::header::HeaderMap,
    idle: Duration,
    retry: RetryPolicy,
    budget: Arc<RetryBudget>,
    breaker: Arc<Breaker>,
    failures_to_open: u32,
    bearer: Option<Arc<TokenCache>>,
    /// The extra headers, as gRPC metadata.
    metadata: Vec<(String, String)>,
}

/// How one attempt failed.
enum Attempt {
    /// Worth another try (after at least the given wait).
    Retry(ClientError, Option<Duration>),
    /// Final; `answered` says whether the remote answered (an A2A error is a healthy remote).
    Fail(ClientError, bool),
}

fn transport(e: reqwest::Error) -> ClientError {
    ClientError::Transport(e.to_string())
}

impl Client {
    /// Fetches the agent card at `url` (the agent's base, or the card's own URL) and picks a
    /// binding.
    pub async fn discover(url: &str, opts: ClientOptions) -> Result<Self, ClientError> {
        let breaker = Arc::new(Breaker::new(opts.breaker.clone()));
        let budget = Arc::new(RetryBudget::new(&opts.retry));
        Self::discover_guarded(url, opts, breaker, budget).await
    }

    /// [`Client::discover`] with a breaker and retry budget shared with other clients of the
    /// same remote agent (see [`crate::runtime::remote`]).
    pub(crate) async fn discover_guarded(
        url: &str,
        opts: ClientOptions,
        breaker: Arc<Breaker>,
        budget: Arc<RetryBudget>,
    ) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(opts.connect_timeout)
            .read_timeout(opts.idle_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(transport)?;
        let card_url = if url.ends_with(".json") {
            url.to_owned()
        } else {
            format!("{}/.well-known/agent-card.json", url.trim_end_matches('/'))
        };
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in &opts.headers {
            let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| ClientError::Protocol(format!("header {k:?}: {e}")))?;
            let value = reqwest::header::HeaderValue::from_str(v)
                .map_err(|e| ClientError::Protocol(format!("header {k:?}: {e}")))?;
            headers.insert(name, value);
        }
        let card = fetch_card(&http, &card_url, &headers).await?;
        // gRPC over TLS is not built in yet: such an interface is passed over for the next one.
        let speaks = |i: &crate::protocol::AgentInterface| {
            i.protocol_version.starts_with("1.")
                && !(i.protocol_binding == "GRPC" && grpc::is_tls(&i.url))
        };
        let offered = if opts.bindings.is_empty() {
            card.supported_interfaces
                .iter()
                .find(|i| speaks(i) && KNOWN_BINDINGS.contains(&i.protocol_binding.as_str()))
        } else {
            opts.bindings.iter().find_map(|want| {
                card.supported_interfaces
                    .iter()
                    .find(|i| &i.protocol_binding == want && speaks(i))
            })
        };
        let binding = match offered {
            Some(i) if i.protocol_binding == "HTTP+JSON" => {
                Binding::Rest(i.url.trim_end_matches('/').to_owned())
            }
            Some(i) if i.protocol_binding == "GRPC" => {
                Binding::Grpc(grpc::GrpcConn::new(&i.url, opts.connect_timeout)?)
            }
            Some(i) => Binding::JsonRpc(i.url.clone()),
            None => {
                // No 1.x interface we speak: an agent that only speaks 0.3 gets 0.3 JSON-RPC.
                let v03 = card.supported_interfaces.iter().find(|i| {
                    i.protocol_binding == "JSONRPC" && i.protocol_version.starts_with("0.")
                });
                match v03 {
                    Some(i) => Binding::JsonRpcV03(i.url.clone()),
                    None => {
                        let wanted = if opts.bindings.is_empty() {
                            &KNOWN_BINDINGS.map(String::from)[..]
                        } else {
                            &opts.bindings[..]
                        };
                        return Err(ClientError::Protocol(format!(
                            "the card offers none of {wanted:?} at protocol 1.x (nor JSONRPC at 0.3)"
                        )));
                    }
                }
            }
        };
        Ok(Self {
            http,
            card,
            binding,
            headers,
            idle: opts.idle_timeout,
            budget,
            retry: opts.retry,
            breaker,
            failures_to_open: opts.breaker.failures_to_open,
            bearer: opts.bearer,
            metadata: opts.headers,
        })
    }

    /// The circuit breaker's state for this agent.
    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    /// The agent's card, as discovered.
    pub fn card(&self) -> &AgentCard {
        &self.card
    }

    /// The binding in use (`JSONRPC`, `HTTP+JSON` or `GRPC`).
    pub fn binding(&self) -> &str {
        match self.binding {
            Binding::JsonRpc(_) | Binding::JsonRpcV03(_) => "JSONRPC",
            Binding::Rest(_) => "HTTP+JSON",
            Binding::Grpc(_) => "GRPC",
        }
    }

    /// The protocol version spoken: `1.0`, or `0.3` to an agent that offers nothing newer.
    pub fn protocol_version(&self) -> &str {
        match self.binding {
            Binding::JsonRpcV03(_) => "0.3",
            _ => "1.0",
        }
    }

    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, url)
            .headers(self.headers.clone())
            .header("A2A-Version", self.protocol_version())
    }

    /// One unary call: `method` (1.0 name) with `params`, over the chosen binding, retried and
    /// guarded by the breaker.
    async fn call<P: Serialize, R: DeserializeOwned>(
        &self,
        op: Operation,
        params: &P,
    ) -> Result<R, ClientError> {
        let params =
            serde_json::to_value(params).map_err(|e| ClientError::Protocol(e.to_string()))?;
        let value = self.with_retries(|| self.attempt(op, &params)).await?;
        serde_json::from_value(value).map_err(|e| ClientError::Protocol(format!("{op}: {e}")))
    }

    /// The HTTP request of `op` over the chosen binding.
    fn build(&self, op: Operation, params: &Value) -> Result<reqwest::RequestBuilder, ClientError> {
        Ok(match &self.binding {
            Binding::JsonRpc(url) => self
                .request(reqwest::Method::POST, url)
                .json(&json!({"jsonrpc": "2.0", "id": 1, "method": op.name(), "params": params})),
            Binding::JsonRpcV03(url) => {
                let Some(m) = op.v03_names().first() else {
                    return Err(ClientError::A2a {
                        reason: "UNSUPPORTED_OPERATION".into(),
                        code: -32004,
                        message: format!("{op} does not exist in A2A 0.3, which this agent speaks"),
                    });
                };
                let params = v03::params_to_v03(op, params);
                self.request(reqwest::Method::POST, url)
                    .json(&json!({"jsonrpc": "2.0", "id": 1, "method": m, "params": params}))
            }
            Binding::Rest(base) => {
                let (verb, path, body) = rest_route(op, params);
                let r = self.request(verb, &format!("{base}{path}"));
                match body {
                    Some(b) => r.json(&b),
                    None => r,
                }
            }
            Binding::Grpc(_) => {
                return Err(ClientError::Protocol(format!("{op} is not HTTP over gRPC")));
            }
        })
    }

    /// The bearer token for this attempt, when the client has a provider.
    async fn token(&self) -> Result<Option<String>, Attempt> {
        match &self.bearer {
            Some(cache) => cache
                .get()
                .await
                .map(Some)
                .map_err(|e| Attempt::Fail(ClientError::Auth(e), true)),
            None => Ok(None),
        }
    }

    /// The agent refused `token` (revoked or rotated before it expired): forget it and try
    /// again with a fresh one.
    async fn refused(&self, token: &str) -> Attempt {
        if let Some(cache) = &self.bearer {
            cache.refused(token).await;
        }
        let e = ClientError::A2a {
            reason: "UNAUTHENTICATED".into(),
            code: 401,
            message: "the agent refused the bearer token".into(),
        };
        Attempt::Retry(e, Some(Duration::ZERO))
    }

    /// A gRPC UNAUTHENTICATED answer to a call that carried `token`: as a 401 over HTTP.
    async fn grpc_refused<T>(
        &self,
        r: Result<T, Attempt>,
        token: Option<String>,
    ) -> Result<T, Attempt> {
        const UNAUTHENTICATED: i64 = tonic::Code::Unauthenticated as i64;
        match (r, token) {
            (Err(Attempt::Fail(ClientError::A2a { code, .. }, _)), Some(t))
                if code == UNAUTHENTICATED =>
            {
                Err(self.refused(&t).await)
            }
            (r, _) => r,
        }
    }

    /// gRPC metadata for one attempt: the extra headers and the bearer token.
    async fn metadata(&self) -> Result<(Vec<(String, String)>, Option<String>), Attempt> {
        let token = self.token().await?;
        let mut md = self.metadata.clone();
        if let Some(t) = &token {
            md.push(("authorization".into(), format!("Bearer {t}")));
        }
        Ok((md, token))
    }

    /// Sends one attempt; an overloaded or unreachable remote is worth a retry.
    async fn send_once(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, Attempt> {
        let token = self.token().await?;
        let req = match &token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let resp = req
            .send()
            .await
            .map_err(|e| Attempt::Retry(transport(e), None))?;
        let status = resp.status().as_u16();
        if let (401, Some(token)) = (status, &token) {
            return Err(self.refused(token).await);
        }
        if !matches!(status, 429 | 502 | 503 | 504) {
            return Ok(resp);
        }
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let e = match read_json(resp).await {
            Ok(v) => error_of(&v),
            Err(_) => ClientError::Transport(format!("the agent answered HTTP {status}")),
        };
        Err(Attempt::Retry(e, retry_after))
    }

    /// Runs `once` under the breaker, retrying what is worth it with backoff within the budget.
    async fn with_retries<T, F, Fut>(&self, mut once: F) -> Result<T, ClientError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, Attempt>>,
    {
        if !self.breaker.admit() {
            return Err(ClientError::CircuitOpen(self.failures_to_open));
        }
        self.budget.deposit();
        let mut attempt = 1;
        loop {
            match once().await {
                Ok(v) => {
                    self.breaker.success();
                    return Ok(v);
                }
                Err(Attempt::Fail(e, answered)) => {
                    if answered {
                        self.breaker.success();
                    } else {
                        self.breaker.failure();
                    }
                    return Err(e);
                }
                Err(Attempt::Retry(e, retry_after)) => {
                    if attempt >= self.retry.max_attempts || !self.budget.withdraw() {
                        self.breaker.failure();
                        return Err(e);
                    }
                    tokio::time::sleep(self.retry.backoff(attempt, retry_after)).await;
                    attempt += 1;
                }
            }
        }
    }

    /// One attempt of a unary call.
    async fn attempt(&self, op: Operation, params: &Value) -> Result<Value, Attempt> {
        if let Binding::Grpc(conn) = &self.binding {
            let (md, token) = self.metadata().await?;
            let r = grpc::unary(conn, op.name(), params, &md).await;
            return self.grpc_refused(r, token).await;
        }
        let req = self.build(op, params).map_err(|e| Attempt::Fail(e, true))?;
        let resp = self.send_once(req).await?;
        let status = resp.status().as_u16();
        let v = read_json(resp)
            .await
            .map_err(|e| Attempt::Fail(e, status < 500))?;
        if v.get("error").is_some() {
            return Err(Attempt::Fail(error_of(&v), status < 500));
        }
        Ok(match self.binding {
            Binding::JsonRpc(_) => v.get("result").cloned().unwrap_or(Value::Null),
            Binding::JsonRpcV03(_) => {
                v03::result_to_v1(op, v.get("result").unwrap_or(&Value::Null))
            }
            Binding::Rest(_) | Binding::Grpc(_) => v,
        })
    }

    /// SendMessage.
    pub async fn send(&self, req: &SendMessageRequest) -> Result<SendMessageResponse, ClientError> {
        self.call(Operation::SendMessage, req).await
    }

    /// SendMessage with one text part and a fresh messageId.
    pub async fn send_text(&self, text: &str) -> Result<SendMessageResponse, ClientError> {
        self.send(&text_request(text, None, None, false)).await
    }

    /// GetTask.
    pub async fn get_task(&self, req: &GetTaskRequest) -> Result<Task, ClientError> {
        self.call(Operation::GetTask, req).await
    }

    /// ListTasks.
    pub async fn list_tasks(
        &self,
        req: &ListTasksRequest,
    ) -> Result<ListTasksResponse, ClientError> {
        self.call(Operation::ListTasks, req).await
    }

    /// CancelTask.
    pub async fn cancel_task(&self, req: &CancelTaskRequest) -> Result<Task, ClientError> {
        self.call(Operation::CancelTask, req).await
    }

    /// CreateTaskPushNotificationConfig.
    pub async fn create_push_config(
        &self,
        cfg: &TaskPushNotificationConfig,
    ) -> Result<TaskPushNotificationConfig, ClientError> {
        self.call(Operation::CreateTaskPushNotificationConfig, cfg)
            .await
    }

    /// GetTaskPushNotificationConfig.
    pub async fn get_push_config(
        &self,
        task_id: &str,
        id: &str,
    ) -> Result<TaskPushNotificationConfig, ClientError> {
        self.call(
            Operation::GetTaskPushNotificationConfig,
            &json!({"taskId": task_id, "id": id}),
        )
        .await
    }

    /// ListTaskPushNotificationConfigs (one page).
    pub async fn list_push_configs(
        &self,
        task_id: &str,
    ) -> Result<ListTaskPushNotificationConfigsResponse, ClientError> {
        self.call(
            Operation::ListTaskPushNotificationConfigs,
            &json!({"taskId": task_id}),
        )
        .await
    }

    /// DeleteTaskPushNotificationConfig.
    pub async fn delete_push_config(&self, task_id: &str, id: &str) -> Result<(), ClientError> {
        let _: Value = self
            .call(
                Operation::DeleteTaskPushNotificationConfig,
                &json!({"taskId": task_id, "id": id}),
            )
            .await?;
        Ok(())
    }

    /// GetExtendedAgentCard.
    pub async fn extended_card(&self) -> Result<AgentCard, ClientError> {
        self.call(Operation::GetExtendedAgentCard, &json!({})).await
    }

    /// SendStreamingMessage: the task's events, resumed by itself after a dropped connection.
    pub async fn send_streaming(
        &self,
        req: &SendMessageRequest,
    ) -> Result<EventStream, ClientError> {
        let params = serde_json::to_value(req).map_err(|e| ClientError::Protocol(e.to_string()))?;
        let mut s = EventStream::new(self.clone());
        s.open(Operation::SendStreamingMessage, params, None)
            .await?;
        Ok(s)
    }

    /// SubscribeToTask, from after `last_event_id` when given (this runtime's resume extension).
    pub async fn subscribe(
        &self,
        task_id: &str,
        last_event_id: Option<u64>,
    ) -> Result<EventStream, ClientError> {
        let mut s = EventStream::new(self.clone());
        s.task_id = Some(task_id.to_owned());
        s.watching = true;
        s.open(
            Operation::SubscribeToTask,
            json!({"id": task_id}),
            last_event_id,
        )
        .await?;
        Ok(s)
    }
}

/// A SendMessage request of one text part.
pub fn text_request(
    text: &str,
    context_id: Option<&str>,
    task_id: Option<&str>,
    return_immediately: bool,
) -> SendMessageRequest {
    let message = Message {
        message_id: crate::ids::random(),
        role: Role::User,
        parts: vec![Part::text(text)],
        context_id: context_id.unwrap_or_default().to_owned(),
        task_id: task_id.unwrap_or_default().to_owned(),
        ..Message::default()
    };
    SendMessageRequest {
        message: Some(message),
        configuration: return_immediately.then(|| SendMessageConfiguration {
            return_immediately: true,
            ..SendMessageConfiguration::default()
        }),
        ..SendMessageRequest::default()
    }
}
