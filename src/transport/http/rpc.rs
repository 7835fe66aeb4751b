//! JSON-RPC over HTTP: the default agent at `/`, any agent at `/agents/{name}`; checks the content
//! type and body size, then hands the body to the JSON-RPC binding.

use super::*;

pub(super) async fn default_rpc(
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

pub(super) async fn agent_rpc(
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

/// A JSON-RPC call to `agent`, served at `path` below the origin.
pub(super) async fn rpc(
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
    let call = ops::Call {
        agent,
        caller: ANONYMOUS,
        limits: &st.limits,
        binding: "http",
        last_event_id: last_event_id(headers),
        extensions: &extensions,
        card: &|| card_urls(st, headers, agent, path),
    };
    let reply = jsonrpc::call(&st.runtime, call, requested_version(headers, uri), &bytes).await;
    let resp = match reply {
        jsonrpc::Reply::Stream {
            id,
            stream,
            legacy: true,
        } => sse(Framing::JsonRpcV03(id), *stream, st.config.keep_alive),
        jsonrpc::Reply::Stream { id, stream, .. } => {
            sse(Framing::JsonRpc(id), *stream, st.config.keep_alive)
        }
        jsonrpc::Reply::Body { body, error } => rpc_response(body, error),
    };
    echo_extensions(st, agent, &extensions, resp)
}

pub(super) fn rpc_response(body: Vec<u8>, error: Option<ErrorKind>) -> Response {
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
