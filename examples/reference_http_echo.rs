//! The reference for the HTTP benchmark: a bare axum server that parses the JSON-RPC body and
//! answers a fixed completed task, with no runtime, no actors and no store. `benches/http.sh`
//! runs it beside `a2a serve` so figures can be read as ratios on a noisy machine.
//!
//! Run with: `cargo run --release --example reference_http_echo -- 127.0.0.1:7499`

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7499".into());
    let app = Router::new().route(
        "/",
        post(|body: Bytes| async move {
            let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let text = req["params"]["message"]["parts"][0]["text"].clone();
            let answer = json!({"jsonrpc": "2.0", "id": req["id"], "result": {"task": {"id": "t", "contextId": "c",
                "status": {"state": "TASK_STATE_COMPLETED"}, "artifacts": [{"artifactId": "a", "parts": [{"text": text}]}]}}});
            ([("content-type", "application/json")], serde_json::to_vec(&answer).unwrap_or_default())
        }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
