//! Server-sent events: a task's events framed for JSON-RPC or REST (1.0 or 0.3 shapes).

use super::*;

/// A task's events as server-sent events: `id:` is the event's sequence number, `data:` a
/// JSON-RPC response holding the `StreamResponse`. An error after the stream began is sent as an
/// `event: error` carrying a JSON-RPC error, and ends the stream.
/// How each SSE event is wrapped: in a JSON-RPC response with the request's id, or bare (REST).
pub(super) enum Framing {
    JsonRpc(serde_json::Value),
    /// JSON-RPC for a 0.3 client: each event rewritten into the 0.3 shapes.
    JsonRpcV03(serde_json::Value),
    Rest,
    /// REST for a 0.3 client: each event as the 0.3 proto's JSON.
    RestV03,
}

impl Framing {
    fn success(&self, result: &[u8]) -> Vec<u8> {
        match self {
            Self::JsonRpc(id) => envelope::success_raw(id, result),
            Self::JsonRpcV03(id) => {
                envelope::success_raw(id, &crate::protocol::v03::event_to_v03(result))
            }
            Self::Rest => result.to_vec(),
            Self::RestV03 => crate::transport::legacy::rest_event(result),
        }
    }

    fn error(&self, e: &A2aError) -> Vec<u8> {
        match self {
            Self::JsonRpc(id) | Self::JsonRpcV03(id) => envelope::error(id, e),
            Self::Rest | Self::RestV03 => serde_json::to_vec(&e.to_rest()).unwrap_or_default(),
        }
    }
}

pub(super) fn sse(
    framing: Framing,
    stream: crate::runtime::TaskStream,
    keep_alive: std::time::Duration,
) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let events = futures_util::stream::unfold(Some((stream, framing)), |state| async move {
        let (mut stream, framing) = state?;
        let event = match stream.next().await? {
            Ok(ev) => {
                let data = framing.success(&ev.json);
                // Our own JSON: valid UTF-8 (checked, without the lossy copy).
                let data = String::from_utf8(data)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                let event = Event::default().id(ev.seq.to_string()).data(data);
                match ev.skipped {
                    // Retention removed what the reader asked for: it gets the task as it is
                    // now, under its own event type, and a comment saying which events went.
                    Some((from, to)) => event.event("resync").comment(format!(
                        "events {from}-{to} were removed by retention; this is the task as it is now"
                    )),
                    None => event,
                }
            }
            Err(e) => {
                let data = framing.error(&e);
                let event = Event::default()
                    .event("error")
                    .data(String::from_utf8_lossy(&data));
                return Some((Ok::<Event, std::convert::Infallible>(event), None));
            }
        };
        Some((Ok(event), Some((stream, framing))))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(keep_alive))
        .into_response()
}
