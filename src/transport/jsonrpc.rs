//! The JSON-RPC binding: one POST per call, methods named as in A2A 1.0.

use serde_json::Value;

use super::legacy;
use super::ops::{self, Answer};
use crate::Runtime;
use crate::protocol::{A2aError, ErrorKind, Operation, jsonrpc, negotiate};
use crate::runtime::TaskStream;

/// The outcome of one call.
pub(crate) enum Reply {
    /// A JSON-RPC response; `error` is the kind of the error it carries, if any (it picks the
    /// HTTP status: 429 for an overloaded agent, else 200).
    Body {
        body: Vec<u8>,
        error: Option<ErrorKind>,
    },
    /// Server-sent events, each wrapped in a response with the request's `id`.
    Stream {
        id: Value,
        stream: Box<TaskStream>,
        /// The call used the 0.3 protocol: events go out in its shapes.
        legacy: bool,
    },
}

impl Reply {
    fn err(id: &Value, e: &A2aError) -> Self {
        Self::Body {
            body: jsonrpc::error(id, e),
            error: Some(e.kind),
        }
    }

    fn ok(body: Vec<u8>) -> Self {
        Self::Body { body, error: None }
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
    let legacy_op = legacy::is_legacy(version)
        .then(|| Operation::from_v03_name(req.method))
        .flatten();
    if let Some(op) = legacy_op {
        return match legacy::call(runtime, &call, op, req.params).await {
            Ok(legacy::Legacy::Result(v)) => Reply::ok(jsonrpc::success(&id, &v)),
            Ok(legacy::Legacy::Stream(stream)) => Reply::Stream {
                id,
                stream,
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
    match answer {
        Ok(Answer::Json(result)) => Reply::ok(jsonrpc::success_raw(&id, &result)),
        Ok(Answer::Empty) => Reply::ok(jsonrpc::success_raw(&id, b"null")),
        Ok(Answer::Stream(stream)) => Reply::Stream {
            id,
            stream,
            legacy: false,
        },
        Err(e) => Reply::err(&id, &e),
    }
}
