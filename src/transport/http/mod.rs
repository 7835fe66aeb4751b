//! The HTTP transport: JSON-RPC, REST and agent cards for every agent, health and metrics.
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

mod cards;
mod health;
mod rest_routes;
mod rpc;
mod serve;
mod sse;

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

use self::cards::{default_card, default_card_v03, named_card, named_card_v03};
use self::health::{limit_in_flight, readyz, render_metrics};
use self::rest_routes::rest_route;
use self::rpc::{agent_rpc, default_rpc};
pub use self::serve::serve;
use self::sse::{Framing, sse};

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
