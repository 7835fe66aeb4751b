//! Reading answers off the wire (JSON bodies, A2A errors) and building REST requests from the
//! operations' routes ([`Operation::rest`]).

use super::*;

pub(super) async fn read_json(resp: reqwest::Response) -> Result<Value, ClientError> {
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(transport)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
        ClientError::Protocol(format!("HTTP {status}, body is not JSON ({e}): {text:?}"))
    })
}

/// The A2A error in a JSON-RPC error response or a REST `{"error": Status}` body.
pub(super) fn error_of(body: &Value) -> ClientError {
    let e = body.get("error").unwrap_or(&Value::Null);
    a2a_error(e, e.get("data").or_else(|| e.get("details")))
}

pub(super) fn a2a_error(e: &Value, details: Option<&Value>) -> ClientError {
    let code = e.get("code").and_then(Value::as_i64).unwrap_or(0);
    let reason = details
        .and_then(Value::as_array)
        .and_then(|d| d.iter().find_map(|x| x.get("reason")?.as_str()))
        .or_else(|| crate::protocol::ErrorKind::from_code(code).map(|k| k.reason()))
        .unwrap_or("UNKNOWN")
        .to_owned();
    ClientError::A2a {
        reason,
        code,
        message: e
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
    }
}

/// The REST verb, path and body of an operation, from its route ([`Operation::rest`]): path
/// fields from the params, the rest as the JSON body of a POST that has one, or as the query.
pub(super) fn rest_route(op: Operation, p: &Value) -> (reqwest::Method, String, Option<Value>) {
    let route = op.rest();
    let field = |k: &str| match p.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(v) if !v.is_null() => v.to_string(),
        _ => String::new(),
    };
    let (path, used) = route.path(field);
    let rest: serde_json::Map<String, Value> = p
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| !used.contains(&k.as_str()) && !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let verb = match route.verbs.first() {
        Some(Verb::Get) | None => reqwest::Method::GET,
        Some(Verb::Post) => reqwest::Method::POST,
        Some(Verb::Delete) => reqwest::Method::DELETE,
    };
    if verb == reqwest::Method::POST {
        let body = route.body.then_some(Value::Object(rest));
        return (verb, path, body);
    }
    let query: Vec<String> = rest
        .iter()
        .map(|(k, v)| {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            format!("{k}={}", percent_encode(&v))
        })
        .collect();
    if query.is_empty() {
        (verb, path, None)
    } else {
        (verb, format!("{path}?{}", query.join("&")), None)
    }
}
