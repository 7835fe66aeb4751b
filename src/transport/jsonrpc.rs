//! The JSON-RPC binding: one POST per call, methods named as in A2A 1.0.

use serde_json::Value;

use super::ops::{self, Answer};
use crate::Runtime;
use crate::protocol::{A2aError, ErrorKind, jsonrpc, negotiate};
use crate::runtime::TaskStream;

/// The outcome of one call: the response body (or, for the streaming methods, the stream to send
/// as server-sent events), and the error if it failed (for the HTTP status).
pub(crate) struct Reply {
    pub body: Vec<u8>,
    pub error: Option<ErrorKind>,
    pub stream: Option<(Value, TaskStream)>,
}

impl Reply {
    fn err(id: &Value, e: &A2aError) -> Self {
        Self {
            body: jsonrpc::error(id, e),
            error: Some(e.kind),
            stream: None,
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
    if let Err(e) = negotiate(version) {
        return Reply::err(&id, &e);
    }
    let answer = ops::invoke(runtime, &call, req.method, req.params).await;
    let body = match answer {
        Ok(Answer::Json(result)) => jsonrpc::success_raw(&id, &result),
        Ok(Answer::Empty) => jsonrpc::success_raw(&id, b"null"),
        Ok(Answer::Stream(stream)) => {
            return Reply {
                body: Vec::new(),
                error: None,
                stream: Some((id, stream)),
            };
        }
        Err(e) => return Reply::err(&id, &e),
    };
    Reply {
        body,
        error: None,
        stream: None,
    }
}
