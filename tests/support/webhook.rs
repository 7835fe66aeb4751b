//! A real webhook receiver on 127.0.0.1: answers each POST as its path's plan says (fail,
//! 503 with Retry-After, hang, slow, succeed) and records every request it saw.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// How the receiver answers one request.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Ok,
    Status(u16),
    /// 503 with `Retry-After: secs`.
    RetryAfter(u64),
    /// Never answers within any sane timeout.
    Hang,
    /// Answers 200 after a pause.
    Slow(Duration),
    /// 302 to `/redirected` on this receiver.
    Redirect,
}

/// One request the receiver saw.
#[derive(Debug, Clone)]
pub struct Hit {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Value,
    pub answer: Answer,
    pub at: Instant,
}

impl Hit {
    /// The `X-A2A-Event-Id` header: the event's sequence number.
    pub fn event_id(&self) -> u64 {
        self.headers
            .get("x-a2a-event-id")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// The task the event belongs to.
    pub fn task_id(&self) -> String {
        let b = &self.body;
        [
            &b["task"]["id"],
            &b["statusUpdate"]["taskId"],
            &b["artifactUpdate"]["taskId"],
            &b["message"]["taskId"],
        ]
        .iter()
        .find_map(|v| v.as_str())
        .unwrap_or_default()
        .to_owned()
    }

    pub fn delivered(&self) -> bool {
        matches!(self.answer, Answer::Ok | Answer::Slow(_))
    }
}

#[derive(Default)]
struct State {
    plans: HashMap<String, VecDeque<Answer>>,
    /// Answer for a path once its plan is used up (default Ok).
    then: HashMap<String, Answer>,
    hits: Vec<Hit>,
}

#[derive(Clone)]
pub struct Webhook {
    /// `http://127.0.0.1:port`
    pub base: String,
    state: Arc<Mutex<State>>,
}

impl Webhook {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let st = st.clone();
            async move { receive(st, uri, headers, body).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The next answers for `path`, in order; after them, `then`.
    pub fn plan(&self, path: &str, answers: &[Answer], then: Answer) {
        let mut st = self.state.lock().unwrap();
        st.plans
            .insert(path.to_owned(), answers.iter().copied().collect());
        st.then.insert(path.to_owned(), then);
    }

    pub fn hits(&self, path: &str) -> Vec<Hit> {
        let st = self.state.lock().unwrap();
        st.hits.iter().filter(|h| h.path == path).cloned().collect()
    }

    /// Requests to `path` that were answered with success.
    pub fn delivered(&self, path: &str) -> Vec<Hit> {
        self.hits(path).into_iter().filter(Hit::delivered).collect()
    }

    /// Event ids delivered to `path`, first delivery of each, in arrival order.
    pub fn delivered_ids(&self, path: &str) -> Vec<u64> {
        let mut seen = std::collections::HashSet::new();
        self.delivered(path)
            .iter()
            .map(Hit::event_id)
            .filter(|id| seen.insert(*id))
            .collect()
    }

    /// Waits until `path` got successful deliveries of `n` distinct events (task and id).
    pub async fn wait_delivered(&self, path: &str, n: usize, deadline: Duration) -> bool {
        let end = Instant::now() + deadline;
        while Instant::now() < end {
            let distinct: std::collections::HashSet<(String, u64)> = self
                .delivered(path)
                .iter()
                .map(|h| (h.task_id(), h.event_id()))
                .collect();
            if distinct.len() >= n {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// Waits until `path` got at least `n` requests of any outcome.
    pub async fn wait_hits(&self, path: &str, n: usize, deadline: Duration) -> bool {
        let end = Instant::now() + deadline;
        while Instant::now() < end {
            if self.hits(path).len() >= n {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }
}

async fn receive(st: Arc<Mutex<State>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_owned();
    let answer = {
        let mut s = st.lock().unwrap();
        let planned = s.plans.get_mut(&path).and_then(VecDeque::pop_front);
        let answer = planned.unwrap_or_else(|| s.then.get(&path).copied().unwrap_or(Answer::Ok));
        s.hits.push(Hit {
            path,
            headers: headers
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                .collect(),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            answer,
            at: Instant::now(),
        });
        answer
    };
    match answer {
        Answer::Ok => StatusCode::OK.into_response(),
        Answer::Status(code) => StatusCode::from_u16(code)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        Answer::RetryAfter(secs) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", secs.to_string())],
        )
            .into_response(),
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
        Answer::Slow(d) => {
            tokio::time::sleep(d).await;
            StatusCode::OK.into_response()
        }
        Answer::Redirect => (StatusCode::FOUND, [("location", "/redirected")]).into_response(),
    }
}
