//! Agent cards: 1.0 at `.well-known/agent-card.json` (with `ETag`, `Last-Modified` and
//! conditional GETs), 0.3 at `.well-known/agent.json`.

use super::*;

pub(super) async fn default_card(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match st.default_agent.clone() {
        Some(name) => card(&st, &name, "", &headers),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The 0.3 card (`/.well-known/agent.json`), for clients that predate 1.0.
pub(super) async fn default_card_v03(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    match st.default_agent.clone() {
        Some(name) => card_v03(&st, &name, "", &headers),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub(super) async fn named_card_v03(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    card_v03(&st, &name, &format!("/agents/{name}"), &headers)
}

pub(super) fn card_v03(st: &AppState, name: &str, path: &str, headers: &HeaderMap) -> Response {
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

pub(super) async fn named_card(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    card(&st, &name, &format!("/agents/{name}"), &headers)
}

pub(super) fn card(st: &AppState, name: &str, path: &str, headers: &HeaderMap) -> Response {
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
