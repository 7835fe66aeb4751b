//! The HTTP+JSON (REST) binding (spec digest §1.2, §1.3, §2.2): resource routes relative to an
//! agent's base (`/` for the default agent, `/agents/{name}` for any), each also under a leading
//! `/{tenant}` segment. A route becomes a 1.0 method and its params (path fields, typed query
//! parameters and the JSON body merged), and goes through the same [`ops::invoke`] as JSON-RPC.
//!
//! The routes are [`Operation::rest`]'s (the client builds its requests from the same table):
//!
//! | verb and path | method |
//! | --- | --- |
//! | `POST /message:send` | SendMessage |
//! | `POST /message:stream` | SendStreamingMessage (SSE: `data:` is a bare StreamResponse) |
//! | `GET /tasks` | ListTasks (`contextId`, `status`, `pageSize`, `pageToken`, `historyLength`, `statusTimestampAfter`, `includeArtifacts`) |
//! | `GET /tasks/{id}` | GetTask (`historyLength`) |
//! | `POST /tasks/{id}:cancel` | CancelTask |
//! | `GET` or `POST /tasks/{id}:subscribe` | SubscribeToTask (SSE) |
//! | `POST /tasks/{id}/pushNotificationConfigs` | CreateTaskPushNotificationConfig |
//! | `GET /tasks/{id}/pushNotificationConfigs` | ListTaskPushNotificationConfigs (`pageSize`, `pageToken`) |
//! | `GET /tasks/{id}/pushNotificationConfigs/{configId}` | GetTaskPushNotificationConfig |
//! | `DELETE /tasks/{id}/pushNotificationConfigs/{configId}` | DeleteTaskPushNotificationConfig |
//! | `GET /extendedAgentCard` | GetExtendedAgentCard |
//!
//! Errors are `{"error": google.rpc.Status}` with the HTTP status of
//! [`ErrorKind::http_status`]; every response is `application/json`.

use axum::http::{Method, StatusCode};
use serde_json::{Map, Value};

use super::ops::{self, Answer};
use crate::Runtime;
use crate::protocol::{A2aError, ErrorKind, Operation, RestRoute, Verb};

/// A REST request resolved to an operation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Route {
    /// `None`: the server's default agent.
    pub agent: Option<String>,
    pub op: Operation,
    /// Params from the path (and tenant), to merge over the body and query.
    pub path_params: Map<String, Value>,
    /// Whether the request carries a JSON body to read (every POST may).
    pub has_body: bool,
}

/// Resolves verb and path with the routes of [`Operation::rest`]; `None` for a path that is no
/// REST route.
pub(crate) fn route(verb: &Method, path: &str) -> Option<Route> {
    let verb = match *verb {
        Method::GET => Verb::Get,
        Method::POST => Verb::Post,
        Method::DELETE => Verb::Delete,
        _ => return None,
    };
    let mut segs: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect::<Option<_>>()?;
    let mut agent = None;
    if segs.len() >= 3 && segs[0] == "agents" {
        agent = Some(segs[1].clone());
        segs.drain(..2);
    }
    let mut params = Map::new();
    // The first segment of every route: anything else in that place is a tenant.
    if segs.len() >= 2 && !RestRoute::roots().any(|root| root == segs[0]) {
        params.insert("tenant".into(), Value::String(segs.remove(0)));
    }
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let (op, fields) = Operation::from_rest(verb, &s)?;
    for (name, value) in fields {
        params.insert(name.into(), Value::String(value));
    }
    Some(Route {
        agent,
        op,
        path_params: params,
        has_body: verb == Verb::Post,
    })
}

/// Query parameters with their ProtoJSON types (spec digest §1.3): numbers and booleans by
/// name, everything else a string. Unknown names are ignored.
fn query_params(query: &str, into: &mut Map<String, Value>) -> Result<(), A2aError> {
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (Some(k), Some(v)) = (form_decode(k), form_decode(v)) else {
            return Err(A2aError::with_message(
                ErrorKind::InvalidParams,
                format!("query parameter {pair:?} is not valid percent-encoding"),
            ));
        };
        let value = match k.as_str() {
            "historyLength" | "pageSize" => Value::String(v),
            "includeArtifacts" => match v.as_str() {
                "true" | "" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => return Err(A2aError::invalid_field(k, "must be true or false")),
            },
            "contextId" | "status" | "pageToken" | "statusTimestampAfter" => Value::String(v),
            _ => continue,
        };
        into.insert(k, value);
    }
    Ok(())
}

/// Builds the operation's params: the JSON body (an object, or nothing), then the query, then
/// the path fields, later ones winning.
pub(crate) fn params(
    route: &Route,
    query: &str,
    body: &[u8],
) -> Result<Box<serde_json::value::RawValue>, A2aError> {
    let mut params = if route.has_body && !body.iter().all(u8::is_ascii_whitespace) {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                return Err(A2aError::with_message(
                    ErrorKind::InvalidRequest,
                    "the request body must be a JSON object",
                ));
            }
            Err(e) => {
                return Err(A2aError::with_message(
                    ErrorKind::ParseError,
                    format!("the request body is not JSON: {e}"),
                ));
            }
        }
    } else {
        Map::new()
    };
    query_params(query, &mut params)?;
    params.extend(route.path_params.clone());
    serde_json::value::to_raw_value(&params)
        .map_err(|e| A2aError::with_message(ErrorKind::Internal, e.to_string()))
}

/// Runs a resolved route.
pub(crate) async fn call(
    runtime: &Runtime,
    call: ops::Call<'_>,
    route: &Route,
    query: &str,
    body: &[u8],
) -> Result<Answer, A2aError> {
    let params = params(route, query, body)?;
    ops::invoke(runtime, &call, route.op, Some(&params)).await
}

/// The HTTP status of an error.
pub(crate) fn status(e: &A2aError) -> StatusCode {
    StatusCode::from_u16(e.kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Decodes `%XX` escapes; `None` for a bad escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    decode(s, false)
}

/// The same for query strings, where `+` is a space.
fn form_decode(s: &str) -> Option<String> {
    decode(s, true)
}

fn decode(s: &str, plus_is_space: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hi = hex(*b.get(i + 1)?)?;
                let lo = hex(*b.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(verb: Method, path: &str) -> Option<(Option<String>, &'static str, Value)> {
        route(&verb, path).map(|r| (r.agent, r.op.name(), Value::Object(r.path_params)))
    }

    #[test]
    fn routes_resolve_with_agents_tenants_and_actions() {
        use serde_json::json;
        assert_eq!(
            r(Method::POST, "/message:send"),
            Some((None, "SendMessage", json!({})))
        );
        assert_eq!(
            r(Method::POST, "/acme/message:stream"),
            Some((None, "SendStreamingMessage", json!({"tenant": "acme"})))
        );
        assert_eq!(
            r(Method::GET, "/agents/echo/tasks/t-1"),
            Some((Some("echo".into()), "GetTask", json!({"id": "t-1"})))
        );
        assert_eq!(
            r(Method::POST, "/agents/echo/acme/tasks/a:b:cancel"),
            Some((
                Some("echo".into()),
                "CancelTask",
                json!({"id": "a:b", "tenant": "acme"})
            ))
        );
        assert_eq!(
            r(Method::GET, "/tasks/t%201:subscribe").unwrap().1,
            "SubscribeToTask"
        );
        assert_eq!(
            r(Method::POST, "/tasks/t:subscribe").unwrap().2,
            json!({"id": "t"})
        );
        assert_eq!(
            r(Method::DELETE, "/tasks/t/pushNotificationConfigs/c"),
            Some((
                None,
                "DeleteTaskPushNotificationConfig",
                json!({"taskId": "t", "id": "c"})
            ))
        );
        assert_eq!(
            r(Method::GET, "/tasks/t/pushNotificationConfigs")
                .unwrap()
                .1,
            "ListTaskPushNotificationConfigs"
        );
        assert_eq!(
            r(Method::GET, "/extendedAgentCard").unwrap().1,
            "GetExtendedAgentCard"
        );
        // A colon that is no action stays in the id.
        assert_eq!(
            r(Method::GET, "/tasks/a:b").unwrap().2,
            json!({"id": "a:b"})
        );
        for (verb, path) in [
            (Method::GET, "/message:send"),
            (Method::DELETE, "/tasks/t"),
            (Method::POST, "/tasks/t:explode"),
            (Method::GET, "/nothing/here/at/all"),
            (Method::GET, "/tasks/%zz"),
        ] {
            assert_eq!(r(verb.clone(), path), None, "{verb} {path}");
        }
    }

    #[test]
    fn query_parameters_get_their_types() {
        let mut m = Map::new();
        query_params(
            "pageSize=5&includeArtifacts=true&contextId=c%201&status=TASK_STATE_WORKING&other=x",
            &mut m,
        )
        .unwrap();
        assert_eq!(
            Value::Object(m),
            serde_json::json!({"pageSize": "5", "includeArtifacts": true, "contextId": "c 1", "status": "TASK_STATE_WORKING"})
        );
        assert!(query_params("includeArtifacts=maybe", &mut Map::new()).is_err());
    }
}
