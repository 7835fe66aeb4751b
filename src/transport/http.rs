//! The HTTP transport: JSON-RPC endpoints and agent cards for every agent.
//!
//! | route | what |
//! | --- | --- |
//! | `POST /agents/{name}` | JSON-RPC for agent `name` |
//! | `GET /agents/{name}/.well-known/agent-card.json` | its card |
//! | `POST /` and `GET /.well-known/agent-card.json` | the same for the default agent |
//! | `GET /healthz` | 200 while the process serves (liveness) |
//! | `GET /readyz` | 200 when ready, else 503 naming why ([`Runtime::unready_reasons`]) |
//! | `GET /metrics` | Prometheus text, when [`HttpConfig::metrics`] is set |
//! | `/admin/dlq…` | the push dead-letter queue ([`super::admin`]) |

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::Value;

use super::admin;
use super::card::{CardUrls, agent_card};
use super::limits::Limits;
use super::{jsonrpc, ops, rest};
use crate::Runtime;
use crate::protocol::{A2aError, ErrorKind, Timestamp, VERSION_HEADER, jsonrpc as envelope};
use crate::runtime::ANONYMOUS;

/// The address a request came from (set by [`serve`]).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub std::net::SocketAddr);

/// Settings of the HTTP transport.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest request body accepted; larger ones get 413 before they are read whole.
    pub max_body_bytes: usize,
    /// The base URL clients reach this server at (cards name it). Defaults to `http://` and the
    /// request's `Host` header.
    pub public_url: Option<String>,
    /// `Cache-Control: max-age` of agent cards, in seconds.
    pub card_max_age_secs: u32,
    /// Serves `/metrics` from this Prometheus recorder (installed by the caller).
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Requests served at once, all routes and bindings together; more get 503 with
    /// `Retry-After` at once. Agent mailboxes bound the work; this bounds what waiting requests
    /// themselves hold. (A [`Server`](crate::Server) builds its [`Limits`] from this.)
    pub max_in_flight: usize,
    /// Streams open at once (SSE and gRPC together); more get 429 with `Retry-After` at once.
    pub max_streams: usize,
    /// How often an idle SSE stream gets a keep-alive comment, so proxies do not cut it.
    pub keep_alive: std::time::Duration,
    /// Bearer token of the admin routes (`/admin/…`); without one they answer only callers on
    /// this host.
    pub admin_token: Option<String>,
    /// The gRPC `host:port` the default agent is also served at (its card lists it).
    pub grpc_url: Option<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 10 << 20,
            public_url: None,
            card_max_age_secs: 300,
            metrics: None,
            max_in_flight: 10_000,
            max_streams: 10_000,
            keep_alive: std::time::Duration::from_secs(15),
            admin_token: None,
            grpc_url: None,
        }
    }
}

struct AppState {
    runtime: Runtime,
    config: HttpConfig,
    limits: Limits,
    default_agent: Option<String>,
    /// When the cards were last changed: this process's start.
    started: Timestamp,
}

/// The router serving every agent of `runtime`, the default one ([`Runtime::default_agent`])
/// also at `/`, within `limits` (shared with the server's other bindings).
pub fn router(runtime: Runtime, config: HttpConfig, limits: Limits) -> Router {
    let default_agent = runtime.default_agent();
    // Second precision: Last-Modified and If-Modified-Since have no fractions.
    let now = Timestamp::now().unix_nanos();
    let started = Timestamp::from_unix_nanos(now - now % 1_000_000_000);
    let admin = Router::new()
        .route("/admin/dlq", get(admin::list))
        .route("/admin/dlq/retry", post(admin::retry))
        .with_state(Arc::new(admin::Admin {
            runtime: runtime.clone(),
            token: config.admin_token.clone(),
        }));
    let state = Arc::new(AppState {
        runtime,
        config,
        limits: limits.clone(),
        default_agent,
        started,
    });
    Router::new()
        .route("/", post(default_rpc))
        .route("/.well-known/agent-card.json", get(default_card))
        .route("/.well-known/agent.json", get(default_card_v03))
        .route("/agents/{name}", post(agent_rpc))
        .route(
            "/agents/{name}/.well-known/agent-card.json",
            get(named_card),
        )
        .route("/agents/{name}/.well-known/agent.json", get(named_card_v03))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .fallback(rest_route)
        .with_state(state)
        .merge(admin)
        .layer(axum::middleware::from_fn_with_state(
            limits,
            limit_in_flight,
        ))
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn rpc_error(status: StatusCode, e: &A2aError) -> Response {
    json_response(status, envelope::error(&serde_json::Value::Null, e))
}

async fn default_rpc(
    State(st): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match st.default_agent.clone() {
        Some(name) => rpc(&st, &name, "", &uri, &headers, body).await,
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn agent_rpc(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if st.runtime.agent(&name).is_none() {
        return rpc_error(
            StatusCode::NOT_FOUND,
            &A2aError::with_message(
                ErrorKind::InvalidRequest,
                format!("no agent named {name:?} on this server"),
            ),
        );
    }
    let path = format!("/agents/{name}");
    rpc(&st, &name, &path, &uri, &headers, body).await
}

/// The `A2A-Version` header, or the query parameter of the same name (spec §3.6.1).
fn requested_version<'a>(headers: &'a HeaderMap, uri: &'a Uri) -> Option<&'a str> {
    if let Some(v) = headers.get(VERSION_HEADER) {
        return Some(v.to_str().unwrap_or("invalid"));
    }
    uri.query()?.split('&').find_map(|kv| {
        kv.strip_prefix("A2A-Version=")
            .or_else(|| kv.strip_prefix("a2a-version="))
    })
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(ct) = ct.to_str() else { return false };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence == "application/a2a+json"
}

/// A JSON-RPC call to `agent`, served at `path` below the origin.
async fn rpc(
    st: &AppState,
    agent: &str,
    path: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    if !is_json(headers) {
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("?");
        return rpc_error(
            StatusCode::OK,
            &A2aError::with_message(
                ErrorKind::ContentTypeNotSupported,
                format!("Content-Type {ct:?} is not supported; send application/json"),
            ),
        );
    }
    let bytes = match read_limited(headers, body, st.config.max_body_bytes).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let extensions = requested_extensions(headers);
    let urls = card_urls(st, headers, agent, path);
    let call = ops::Call {
        agent,
        caller: ANONYMOUS,
        limits: &st.limits,
        binding: "http",
        last_event_id: last_event_id(headers),
        extensions: &extensions,
        card: &urls,
    };
    let reply = jsonrpc::call(&st.runtime, call, requested_version(headers, uri), &bytes).await;
    let resp = match (reply.stream, reply.error) {
        (Some((id, stream)), _) if reply.legacy => {
            sse(Framing::JsonRpcV03(id), stream, st.config.keep_alive)
        }
        (Some((id, stream)), _) => sse(Framing::JsonRpc(id), stream, st.config.keep_alive),
        (None, error) => rpc_response(reply.body, error),
    };
    echo_extensions(st, agent, &extensions, resp)
}

fn rpc_response(body: Vec<u8>, error: Option<ErrorKind>) -> Response {
    match error {
        Some(ErrorKind::Overloaded) => {
            let mut r = json_response(StatusCode::TOO_MANY_REQUESTS, body);
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
        _ => json_response(StatusCode::OK, body),
    }
}

/// The extensions a client activated: `A2A-Extensions` (and 0.3's `X-A2A-Extensions`),
/// comma-separated, at most 32.
pub(crate) fn requested_extensions(headers: &HeaderMap) -> Vec<String> {
    ["a2a-extensions", "x-a2a-extensions"]
        .iter()
        .flat_map(|h| headers.get_all(*h))
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .take(32)
        .map(str::to_owned)
        .collect()
}

/// Tells the client which of its requested extensions the agent supports (`A2A-Extensions` on
/// the response, as the extensions guide asks).
fn echo_extensions(
    st: &AppState,
    agent: &str,
    requested: &[String],
    mut resp: Response,
) -> Response {
    if requested.is_empty() {
        return resp;
    }
    let Some(spec) = st.runtime.agent(agent) else {
        return resp;
    };
    let active: Vec<&str> = requested
        .iter()
        .filter(|u| spec.extensions.iter().any(|e| &e.uri == *u))
        .map(String::as_str)
        .collect();
    if let Ok(v) = HeaderValue::from_str(&active.join(","))
        && !active.is_empty()
    {
        resp.headers_mut().insert("a2a-extensions", v);
    }
    resp
}

/// Where `agent`'s card says it is served: below the origin at `path`, and over gRPC when it is
/// the default agent and gRPC is on.
fn card_urls(st: &AppState, headers: &HeaderMap, agent: &str, path: &str) -> CardUrls {
    CardUrls {
        base: format!("{}{path}", origin(st, headers)),
        grpc: st
            .config
            .grpc_url
            .clone()
            .filter(|_| st.default_agent.as_deref() == Some(agent)),
    }
}

/// The origin clients reach this server at: `--public-url`, or `http://` and the `Host` header.
fn origin(st: &AppState, headers: &HeaderMap) -> String {
    match &st.config.public_url {
        Some(u) => u.trim_end_matches('/').to_owned(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    }
}

/// Reads the body, refusing (413) one larger than `limit` without buffering more than `limit`.
async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<axum::body::Bytes, Response> {
    let too_large = || {
        rpc_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &A2aError::with_message(
                ErrorKind::InvalidRequest,
                format!("Payload too large: the limit is {limit} bytes"),
            ),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(e) => Err(rpc_error(
            StatusCode::BAD_REQUEST,
            &A2aError::with_message(
                ErrorKind::InvalidRequest,
                format!("cannot read the request body: {e}"),
            ),
        )),
    }
}

async fn default_card(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match st.default_agent.clone() {
        Some(name) => card(&st, &name, "", &headers),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The 0.3 card (`/.well-known/agent.json`), for clients that predate 1.0.
async fn default_card_v03(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match st.default_agent.clone() {
        Some(name) => card_v03(&st, &name, "", &headers),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn named_card_v03(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    card_v03(&st, &name, &format!("/agents/{name}"), &headers)
}

fn card_v03(st: &AppState, name: &str, path: &str, headers: &HeaderMap) -> Response {
    let Some(spec) = st.runtime.agent(name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let urls = card_urls(st, headers, name, path);
    let card = serde_json::to_value(agent_card(&spec, &urls)).unwrap_or_default();
    let body =
        serde_json::to_vec(&crate::protocol::v03::card_to_v03(&card, "")).unwrap_or_default();
    let mut resp = json_response(StatusCode::OK, body);
    let cache = format!("public, max-age={}", st.config.card_max_age_secs);
    if let Ok(v) = HeaderValue::from_str(&cache) {
        resp.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    resp
}

async fn named_card(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    card(&st, &name, &format!("/agents/{name}"), &headers)
}

fn card(st: &AppState, name: &str, path: &str, headers: &HeaderMap) -> Response {
    let Some(spec) = st.runtime.agent(name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let urls = card_urls(st, headers, name, path);
    let body = serde_json::to_vec(&agent_card(&spec, &urls)).unwrap_or_default();
    let etag = format!("\"{:08x}-{:x}\"", crc32fast::hash(&body), body.len());
    let last_modified = st.started.http_date();
    let not_modified = match headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        Some(inm) => inm.split(',').any(|t| t.trim() == etag || t.trim() == "*"),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(Timestamp::parse_http_date)
            .is_some_and(|since| since >= st.started),
    };
    let mut resp = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        json_response(StatusCode::OK, body)
    };
    let h = resp.headers_mut();
    let cache = format!("public, max-age={}", st.config.card_max_age_secs);
    for (k, v) in [
        (header::CACHE_CONTROL, cache),
        (header::ETAG, etag),
        (header::LAST_MODIFIED, last_modified),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
    resp
}

async fn readyz(State(st): State<Arc<AppState>>) -> Response {
    let why = st.runtime.unready_reasons();
    if why.is_empty() {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, why.join("; ")).into_response()
    }
}

/// Gauges are read when scraped (queue depths, health), then everything is rendered.
async fn render_metrics(State(st): State<Arc<AppState>>) -> Response {
    let Some(handle) = &st.config.metrics else {
        return StatusCode::NOT_FOUND.into_response();
    };
    for spec in st.runtime.agents() {
        let depth = st.runtime.mailbox_depth(&spec.name) as f64;
        let capacity = spec.mailbox.capacity as f64;
        let up = if st.runtime.is_healthy(&spec.name) {
            1.0
        } else {
            0.0
        };
        metrics::gauge!("a2a_agent_mailbox_depth", "agent" => spec.name.clone()).set(depth);
        metrics::gauge!("a2a_agent_mailbox_capacity", "agent" => spec.name.clone()).set(capacity);
        metrics::gauge!("a2a_agent_up", "agent" => spec.name.clone()).set(up);
    }
    metrics::gauge!("a2a_store_writer_queue_depth").set(st.runtime.log().queue_depth() as f64);
    let claims = st.runtime.log().claim_filter();
    metrics::gauge!("a2a_store_claim_filter_keys").set(claims.keys as f64);
    metrics::gauge!("a2a_store_claim_filter_design_load").set(claims.design_load as f64);
    metrics::gauge!("a2a_store_claim_filter_ready").set(if claims.ready { 1.0 } else { 0.0 });
    metrics::gauge!("a2a_live_tasks").set(st.runtime.live_tasks() as f64);
    let mut r = handle.render().into_response();
    let text = HeaderValue::from_static("text/plain; version=0.0.4");
    r.headers_mut().insert(header::CONTENT_TYPE, text);
    r
}

/// Refuses requests past the in-flight limit at once instead of letting them pile up.
async fn limit_in_flight(State(limits): State<Limits>, req: Request, next: Next) -> Response {
    let _permit = match limits.request("http") {
        Ok(p) => p,
        Err(e) => {
            let mut r = rpc_error(StatusCode::SERVICE_UNAVAILABLE, &e);
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return r;
        }
    };
    next.run(req).await
}

/// A task's events as server-sent events: `id:` is the event's sequence number, `data:` a
/// JSON-RPC response holding the `StreamResponse`. An error after the stream began is sent as an
/// `event: error` carrying a JSON-RPC error, and ends the stream.
/// How each SSE event is wrapped: in a JSON-RPC response with the request's id, or bare (REST).
enum Framing {
    JsonRpc(serde_json::Value),
    /// JSON-RPC for a 0.3 client: each event rewritten into the 0.3 shapes.
    JsonRpcV03(serde_json::Value),
    Rest,
    /// REST for a 0.3 client: each event as the 0.3 proto's JSON.
    RestV03,
}

impl Framing {
    fn success(&self, result: &[u8]) -> Vec<u8> {
        match self {
            Self::JsonRpc(id) => envelope::success_raw(id, result),
            Self::JsonRpcV03(id) => {
                envelope::success_raw(id, &crate::protocol::v03::event_to_v03(result))
            }
            Self::Rest => result.to_vec(),
            Self::RestV03 => super::legacy::rest_event(result),
        }
    }

    fn error(&self, e: &A2aError) -> Vec<u8> {
        match self {
            Self::JsonRpc(id) | Self::JsonRpcV03(id) => envelope::error(id, e),
            Self::Rest | Self::RestV03 => serde_json::to_vec(&e.to_rest()).unwrap_or_default(),
        }
    }
}

fn sse(
    framing: Framing,
    stream: crate::runtime::TaskStream,
    keep_alive: std::time::Duration,
) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let events = futures_util::stream::unfold(Some((stream, framing)), |state| async move {
        let (mut stream, framing) = state?;
        let event = match stream.next().await? {
            Ok(ev) => {
                let data = framing.success(&ev.json);
                // Our own JSON: valid UTF-8 (checked, without the lossy copy).
                let data = String::from_utf8(data)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                let event = Event::default().id(ev.seq.to_string()).data(data);
                match ev.skipped {
                    // Retention removed what the reader asked for: it gets the task as it is
                    // now, under its own event type, and a comment saying which events went.
                    Some((from, to)) => event.event("resync").comment(format!(
                        "events {from}-{to} were removed by retention; this is the task as it is now"
                    )),
                    None => event,
                }
            }
            Err(e) => {
                let data = framing.error(&e);
                let event = Event::default()
                    .event("error")
                    .data(String::from_utf8_lossy(&data));
                return Some((Ok::<Event, std::convert::Infallible>(event), None));
            }
        };
        Some((Ok(event), Some((stream, framing))))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(keep_alive))
        .into_response()
}

/// Every path no other route took: the REST binding ([`rest`]), or 404.
async fn rest_route(
    State(st): State<Arc<AppState>>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // A 0.3 client (no A2A-Version, or 0.x) uses the `/v1/...` routes: the same routes, 0.3
    // shapes (`legacy`).
    let version = requested_version(&headers, &uri);
    let legacy_path = super::legacy::is_legacy(version)
        .then(|| v1_stripped(uri.path()))
        .flatten();
    let legacy = legacy_path.is_some();
    let path_routed = legacy_path.unwrap_or_else(|| uri.path().to_owned());
    let Some(route) = rest::route(&method, &path_routed) else {
        let e = A2aError::with_message(
            ErrorKind::MethodNotFound,
            format!("no route {method} {}", uri.path()),
        );
        return rest_error(&e);
    };
    let agent = match route.agent.clone().or_else(|| st.default_agent.clone()) {
        Some(a) if st.runtime.agent(&a).is_some() => a,
        other => {
            let e = A2aError::with_message(
                ErrorKind::MethodNotFound,
                format!("no agent {:?} on this server", other.unwrap_or_default()),
            );
            return rest_error(&e);
        }
    };
    if !legacy && let Err(e) = crate::protocol::negotiate(version) {
        return rest_error(&e);
    }
    if route.has_body && !is_json(&headers) {
        let e = A2aError::with_message(
            ErrorKind::ContentTypeNotSupported,
            "send application/json or application/a2a+json",
        );
        return rest_error(&e);
    }
    let bytes = if route.has_body {
        match read_limited(&headers, body, st.config.max_body_bytes).await {
            Ok(b) => b,
            Err(resp) => return resp,
        }
    } else {
        axum::body::Bytes::new()
    };
    let extensions = requested_extensions(&headers);
    let path = route
        .agent
        .as_ref()
        .map(|a| format!("/agents/{a}"))
        .unwrap_or_default();
    let urls = card_urls(&st, &headers, &agent, &path);
    let call = ops::Call {
        agent: &agent,
        caller: ANONYMOUS,
        limits: &st.limits,
        binding: "http",
        last_event_id: last_event_id(&headers),
        extensions: &extensions,
        card: &urls,
    };
    let query = uri.query().unwrap_or("");
    let answer = if legacy {
        legacy_rest(&st.runtime, &call, &route, query, &bytes).await
    } else {
        rest::call(&st.runtime, call, &route, query, &bytes).await
    };
    let resp = match answer {
        Ok(ops::Answer::Json(body)) => json_response(StatusCode::OK, body),
        Ok(ops::Answer::Empty) => json_response(StatusCode::OK, b"{}".to_vec()),
        Ok(ops::Answer::Stream(stream)) if legacy => {
            sse(Framing::RestV03, *stream, st.config.keep_alive)
        }
        Ok(ops::Answer::Stream(stream)) => sse(Framing::Rest, *stream, st.config.keep_alive),
        Err(e) => rest_error(&e),
    };
    echo_extensions(&st, &agent, &extensions, resp)
}

/// `/v1/x` (or `/agents/{name}/v1/x`) without its `v1` segment, for 0.3 REST clients.
fn v1_stripped(path: &str) -> Option<String> {
    if let Some(rest) = path.strip_prefix("/v1/") {
        return Some(format!("/{rest}"));
    }
    let rest = path.strip_prefix("/agents/")?;
    let (name, tail) = rest.split_once('/')?;
    let tail = tail.strip_prefix("v1/")?;
    Some(format!("/agents/{name}/{tail}"))
}

/// A `/v1` REST call of a 0.3 client: body and result in the 0.3 proto's JSON.
async fn legacy_rest(
    runtime: &crate::Runtime,
    call: &ops::Call<'_>,
    route: &rest::Route,
    query: &str,
    body: &[u8],
) -> Result<ops::Answer, A2aError> {
    let mut params = super::legacy::rest_params(route.op, &route.path_params, body)?;
    // Query parameters (historyLength, pageSize…) have the same names in 0.3.
    if let Ok(q) = rest::params(
        &rest::Route {
            has_body: false,
            ..route.clone()
        },
        query,
        b"",
    ) && let Ok(Value::Object(q)) = serde_json::from_str::<Value>(q.get())
        && let Some(p) = params.as_object_mut()
    {
        for (k, v) in q {
            p.entry(k).or_insert(v);
        }
    }
    let raw = serde_json::value::to_raw_value(&params)
        .map_err(|e| A2aError::with_message(ErrorKind::Internal, e.to_string()))?;
    match ops::invoke(runtime, call, route.op, Some(&raw)).await? {
        ops::Answer::Json(bytes) => {
            let v: Value = serde_json::from_slice(&bytes)
                .map_err(|e| A2aError::with_message(ErrorKind::Internal, e.to_string()))?;
            let out = super::legacy::rest_result(route.op, v);
            Ok(ops::Answer::Json(
                serde_json::to_vec(&out).unwrap_or_default(),
            ))
        }
        other => Ok(other),
    }
}

fn rest_error(e: &A2aError) -> Response {
    let mut r = json_response(
        rest::status(e),
        serde_json::to_vec(&e.to_rest()).unwrap_or_default(),
    );
    if e.kind == ErrorKind::Overloaded {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
}

fn last_event_id(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// Serves `app` on `listener` until `shutdown` completes, then waits for open connections to
/// finish (bound that wait yourself). HTTP/1.1 only, driven by hyper directly: an idle or
/// streaming connection costs less memory than with `axum::serve`'s protocol detection.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    // A client gets 30 s to send its request head (slowloris), and a bounded read buffer.
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(std::time::Duration::from_secs(30))
        .max_buf_size(64 << 10)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        // Handlers that care who is calling (the admin routes) read the peer's address.
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(Peer(peer));
            tower_service::Service::call(&mut app.clone(), req)
        });
        let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    graceful.shutdown().await;
}
