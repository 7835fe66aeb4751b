//! The JSON-RPC binding: one POST per call, methods named as in A2A 1.0.

use serde_json::Value;

use super::legacy;
use super::ops::{self, Answer};
use crate::Runtime;
use crate::protocol::{A2aError, ErrorKind, Operation, jsonrpc, negotiate};
use crate::runtime::TaskStream;

/// The outcome of one call: the response body (or, for the streaming methods, the stream to send
/// as server-sent events), and the error if it failed (for the HTTP status).
pub(crate) struct Reply {
    pub body: Vec<u8>,
    pub error: Option<ErrorKind>,
    pub stream: Option<(Value, TaskStream)>,
    /// The call used the 0.3 protocol: stream events go out in its shapes.
    pub legacy: bool,
}

impl Reply {
    fn err(id: &Value, e: &A2aError) -> Self {
        Self {
            body: jsonrpc::error(id, e),
            error: Some(e.kind),
            stream: None,
            legacy: false,
        }
    }
}

/// Handles a JSON-RPC request body; `version` is the requested `A2A-Version`.
pub(crate) async fn call(
    runtime: &Runtime,
    call: ops::Call<'_>,
    version: Option<&str>,
    body: &[u8],
) -> Reply {
    let req = match jsonrpc::parse_request(body) {
        Ok(r) => r,
        Err((id, e)) => return Reply::err(&id, &e),
    };
    let id = req.id;
    // A 0.3 client names a 0.3 method and sends no version (or 0.x): the legacy adapter.
    let legacy_op = Operation::from_v03_name(req.method).filter(|_| legacy::is_legacy(version));
    if let Some(op) = legacy_op {
        return match legacy::call(runtime, &call, op, req.params).await {
            Ok(legacy::Legacy::Result(v)) => Reply {
                body: jsonrpc::success(&id, &v),
                error: None,
                stream: None,
                legacy: true,
            },
            Ok(legacy::Legacy::Stream(s)) => Reply {
                body: Vec::new(),
                error: None,
                stream: Some((id, *s)),
                legacy: true,
            },
            Err(e) => Reply::err(&id, &e),
        };
    }
    if let Err(e) = negotiate(version) {
        return Reply::err(&id, &e);
    }
    let Some(op) = Operation::from_name(req.method) else {
        let e = A2aError::with_message(
            ErrorKind::MethodNotFound,
            format!("Method not found: {}", req.method),
        )
        .meta("method", req.method);
        return Reply::err(&id, &e);
    };
    let answer = ops::invoke(runtime, &call, op, req.params).await;
    let body = match answer {
        Ok(Answer::Json(result)) => jsonrpc::success_raw(&id, &result),
        Ok(Answer::Empty) => jsonrpc::success_raw(&id, b"null"),
        Ok(Answer::Stream(stream)) => {
            return Reply {
                body: Vec::new(),
                error: None,
                stream: Some((id, *stream)),
                legacy: false,
            };
        }
        Err(e) => return Reply::err(&id, &e),
    };
    Reply {
        body,
        error: None,
        stream: None,
        legacy: false,
    }
}
