//! The JSON-RPC 2.0 envelope (spec digest §2.1): parsing requests into method and raw params,
//! and writing success and error responses.

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use super::error::{A2aError, ErrorKind};

/// A parsed request: its id (to echo), its method and its still-unparsed params.
#[derive(Debug)]
pub struct Request<'a> {
    pub id: Value,
    pub method: &'a str,
    pub params: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default)]
    jsonrpc: Option<&'a str>,
    #[serde(default)]
    id: Option<Value>,
    #[serde(default, borrow)]
    method: Option<&'a str>,
    #[serde(default, borrow)]
    params: Option<&'a RawValue>,
}

/// Parses the envelope. On failure returns the id to answer with (`null` when unknown) and the
/// error: -32700 for bytes that are not JSON, -32600 for JSON that is not a request.
pub fn parse_request(body: &[u8]) -> Result<Request<'_>, (Value, A2aError)> {
    let env: Envelope<'_> = match serde_json::from_slice(body) {
        Ok(env) => env,
        Err(e) => return Err((Value::Null, classify(body, &e))),
    };
    let id = env.id.unwrap_or(Value::Null);
    if !matches!(id, Value::Null | Value::String(_) | Value::Number(_)) {
        return Err((
            Value::Null,
            A2aError::with_message(
                ErrorKind::InvalidRequest,
                "id must be a string, a number or null",
            ),
        ));
    }
    if env.jsonrpc != Some("2.0") {
        return Err((
            id,
            A2aError::with_message(ErrorKind::InvalidRequest, "jsonrpc must be \"2.0\""),
        ));
    }
    let Some(method) = env.method else {
        return Err((
            id,
            A2aError::with_message(ErrorKind::InvalidRequest, "method is missing"),
        ));
    };
    let params = env.params.filter(|p| p.get() != "null");
    if let Some(p) = params
        && !p.get().starts_with('{')
    {
        return Err((
            id,
            A2aError::with_message(ErrorKind::InvalidParams, "params must be an object"),
        ));
    }
    Ok(Request { id, method, params })
}

fn classify(body: &[u8], e: &serde_json::Error) -> A2aError {
    if e.to_string().contains("recursion limit") {
        return A2aError::with_message(ErrorKind::InvalidRequest, "JSON nested too deeply");
    }
    let malformed =
        e.is_syntax() || e.is_eof() || serde_json::from_slice::<IgnoredAny>(body).is_err();
    if malformed {
        A2aError::with_message(ErrorKind::ParseError, format!("Invalid JSON payload: {e}"))
    } else {
        A2aError::with_message(
            ErrorKind::InvalidRequest,
            "Request payload validation error: expected a JSON-RPC 2.0 request object (batches are not supported)",
        )
    }
}

/// Parses params into a request message; a failure is InvalidParams naming the field.
pub fn parse_params<T: DeserializeOwned + Default>(
    params: Option<&RawValue>,
) -> Result<T, A2aError> {
    let Some(raw) = params else {
        return Ok(T::default());
    };
    let de = &mut serde_json::Deserializer::from_str(raw.get());
    serde_path_to_error::deserialize(de).map_err(|e| {
        if e.inner().to_string().contains("recursion limit") {
            return A2aError::with_message(
                ErrorKind::InvalidRequest,
                "JSON nested too deeply (the limit is 128 levels)",
            );
        }
        let mut path = e.path().to_string();
        if path.len() > 200 {
            path.truncate(200);
            path.push('…');
        }
        let field = if path == "." {
            "params".to_owned()
        } else {
            path
        };
        let inner = e.into_inner().to_string();
        // serde_json appends " at line 1 column 42"; the field name says more.
        let description = inner.split(" at line ").next().unwrap_or(&inner).to_owned();
        A2aError::invalid_field(field, description)
    })
}

/// Writes a success response.
pub fn success<T: Serialize>(id: &Value, result: &T) -> Vec<u8> {
    #[derive(Serialize)]
    struct Success<'a, T> {
        jsonrpc: &'static str,
        id: &'a Value,
        result: &'a T,
    }
    serde_json::to_vec(&Success {
        jsonrpc: "2.0",
        id,
        result,
    })
    .unwrap_or_else(|e| {
        error(
            id,
            &A2aError::with_message(ErrorKind::Internal, format!("cannot encode result: {e}")),
        )
    })
}

/// Writes a success response around a result that is already JSON.
pub fn success_raw(id: &Value, result_json: &[u8]) -> Vec<u8> {
    let id = serde_json::to_vec(id).unwrap_or_else(|_| b"null".to_vec());
    let mut out = Vec::with_capacity(result_json.len() + id.len() + 32);
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    out.extend_from_slice(&id);
    out.extend_from_slice(br#","result":"#);
    out.extend_from_slice(result_json);
    out.push(b'}');
    out
}

/// Writes an error response.
pub fn error(id: &Value, err: &A2aError) -> Vec<u8> {
    let v = serde_json::json!({"jsonrpc": "2.0", "id": id, "error": err.to_jsonrpc()});
    serde_json::to_vec(&v).unwrap_or_default()
}
