//! Operator routes: the push dead-letter queue (what `a2a dlq` calls).
//!
//! | route | what |
//! | --- | --- |
//! | `GET /admin/dlq?after=ID&limit=N` | dead letters with ids above `after`, oldest first |
//! | `POST /admin/dlq/retry` | `{"ids":[…]}` or `{"all":true}`: back into the outbox |
//!
//! Only callers on this host may use them, unless an admin token is configured; then only
//! callers presenting it (`Authorization: Bearer …`), from anywhere.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use super::http::Peer;
use crate::Runtime;
use crate::protocol::Timestamp;
use crate::store::DeadLetter;

pub(crate) struct Admin {
    pub runtime: Runtime,
    pub token: Option<String>,
}

/// One dead letter as the admin API shows it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetterView {
    pub id: u64,
    pub task_id: String,
    pub config_id: String,
    /// The event's sequence number (its SSE id).
    pub seq: u64,
    pub url: String,
    pub attempts: u32,
    pub error: String,
    pub created_at: Timestamp,
    pub dead_at: Timestamp,
}

impl DeadLetterView {
    pub fn new(id: u64, d: DeadLetter) -> Self {
        let ts = |ms: u64| Timestamp::from_unix_nanos(i128::from(ms) * 1_000_000);
        Self {
            id,
            task_id: d.task,
            config_id: d.config,
            seq: d.seq,
            url: d.url,
            attempts: d.attempts,
            error: d.error,
            created_at: ts(d.created_ms),
            dead_at: ts(d.dead_ms),
        }
    }
}

/// A page of dead letters.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetterPage {
    pub dead_letters: Vec<DeadLetterView>,
    /// Pass as `after` for the next page; absent on the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PageQuery {
    #[serde(default)]
    after: u64,
    #[serde(default)]
    limit: Option<usize>,
}

/// What `POST /admin/dlq/retry` takes.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct RetryRequest {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all: bool,
}

/// What it answers.
#[derive(Debug, Serialize, Deserialize)]
pub struct RetryResponse {
    pub requeued: usize,
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

/// The refusal, unless the caller may use the admin routes.
fn refusal(admin: &Admin, peer: Option<Peer>, headers: &HeaderMap) -> Option<Response> {
    match &admin.token {
        Some(token) => {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            (!given.is_some_and(|g| same_secret(g, token)))
                .then(|| error(StatusCode::UNAUTHORIZED, "admin token required"))
        }
        None if peer.is_some_and(|p| p.0.ip().is_loopback()) => None,
        None => Some(error(
            StatusCode::FORBIDDEN,
            "admin routes answer only local callers unless --admin-token is set",
        )),
    }
}

/// Compares without stopping at the first difference (no timing hint of the token's prefix).
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub(crate) async fn list(
    State(admin): State<Arc<Admin>>,
    peer: Option<Extension<Peer>>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    if let Some(r) = refusal(&admin, peer.map(|p| p.0), &headers) {
        return r;
    }
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    match admin.runtime.dead_letters(q.after, limit + 1).await {
        Ok(mut page) => {
            let more = page.len() > limit;
            page.truncate(limit);
            let next = more.then(|| page.last().map(|(id, _)| *id)).flatten();
            Json(DeadLetterPage {
                dead_letters: page
                    .into_iter()
                    .map(|(id, d)| DeadLetterView::new(id, d))
                    .collect(),
                next,
            })
            .into_response()
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.message),
    }
}

pub(crate) async fn retry(
    State(admin): State<Arc<Admin>>,
    peer: Option<Extension<Peer>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Some(r) = refusal(&admin, peer.map(|p| p.0), &headers) {
        return r;
    }
    let req: RetryRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad request: {e}")),
    };
    let ids = match (req.all, req.ids.is_empty()) {
        (true, true) => None,
        (false, false) => Some(req.ids.as_slice()),
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "give either \"ids\" or \"all\": true",
            );
        }
    };
    match admin.runtime.retry_dead_letters(ids).await {
        Ok(requeued) => Json(RetryResponse { requeued }).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.message),
    }
}
