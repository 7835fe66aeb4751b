//! The REST entry: every path no other route took, resolved by the REST binding (`/v1/…` for 0.3
//! clients), or 404.

use super::*;

/// Every path no other route took: the REST binding ([`rest`]), or 404.
pub(super) async fn rest_route(
    State(st): State<Arc<AppState>>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // A 0.3 client (no A2A-Version, or 0.x) uses the `/v1/...` routes: the same routes, 0.3
    // shapes (`legacy`).
    let version = requested_version(&headers, &uri);
    let legacy_path = crate::transport::legacy::is_legacy(version)
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
    let call = ops::Call {
        agent: &agent,
        caller: ANONYMOUS,
        limits: &st.limits,
        binding: "http",
        last_event_id: last_event_id(&headers),
        extensions: &extensions,
        card: &|| card_urls(&st, &headers, &agent, &path),
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
pub(super) fn v1_stripped(path: &str) -> Option<String> {
    if let Some(rest) = path.strip_prefix("/v1/") {
        return Some(format!("/{rest}"));
    }
    let rest = path.strip_prefix("/agents/")?;
    let (name, tail) = rest.split_once('/')?;
    let tail = tail.strip_prefix("v1/")?;
    Some(format!("/agents/{name}/{tail}"))
}

/// A `/v1` REST call of a 0.3 client: body and result in the 0.3 proto's JSON.
pub(super) async fn legacy_rest(
    runtime: &crate::Runtime,
    call: &ops::Call<'_>,
    route: &rest::Route,
    query: &str,
    body: &[u8],
) -> Result<ops::Answer, A2aError> {
    let mut params = crate::transport::legacy::rest_params(route.op, &route.path_params, body)?;
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
            let out = crate::transport::legacy::rest_result(route.op, v);
            Ok(ops::Answer::Json(
                serde_json::to_vec(&out).unwrap_or_default(),
            ))
        }
        other => Ok(other),
    }
}
