//! Operations routes (`/readyz`, `/metrics`) and the in-flight limit every route passes.

use super::*;

pub(super) async fn readyz(State(st): State<Arc<AppState>>) -> Response {
    let why = st.runtime.unready_reasons();
    if why.is_empty() {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, why.join("; ")).into_response()
    }
}

/// Gauges are read when scraped (queue depths, health), then everything is rendered.
pub(super) async fn render_metrics(State(st): State<Arc<AppState>>) -> Response {
    let Some(handle) = &st.config.metrics else {
        return StatusCode::NOT_FOUND.into_response();
    };
    for spec in st.runtime.agents() {
        let depth = st.runtime.mailbox_depth(&spec.name) as f64;
        let capacity = spec.mailbox.capacity as f64;
        let up = if st.runtime.is_healthy(&spec.name) {
            1.0
        } else {
            0.0
        };
        metrics::gauge!("a2a_agent_mailbox_depth", "agent" => spec.name.clone()).set(depth);
        metrics::gauge!("a2a_agent_mailbox_capacity", "agent" => spec.name.clone()).set(capacity);
        metrics::gauge!("a2a_agent_up", "agent" => spec.name.clone()).set(up);
    }
    metrics::gauge!("a2a_store_writer_queue_depth").set(st.runtime.log().queue_depth() as f64);
    let claims = st.runtime.log().claim_filter();
    metrics::gauge!("a2a_store_claim_filter_keys").set(claims.keys as f64);
    metrics::gauge!("a2a_store_claim_filter_design_load").set(claims.design_load as f64);
    metrics::gauge!("a2a_store_claim_filter_ready").set(if claims.ready { 1.0 } else { 0.0 });
    metrics::gauge!("a2a_live_tasks").set(st.runtime.live_tasks() as f64);
    let mut r = handle.render().into_response();
    let text = HeaderValue::from_static("text/plain; version=0.0.4");
    r.headers_mut().insert(header::CONTENT_TYPE, text);
    r
}

/// Refuses requests past the in-flight limit at once instead of letting them pile up.
pub(super) async fn limit_in_flight(
    State(limits): State<Limits>,
    req: Request,
    next: Next,
) -> Response {
    let _permit = match limits.request("http") {
        Ok(p) => p,
        Err(e) => {
            let mut r = rpc_error(StatusCode::SERVICE_UNAVAILABLE, &e);
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return r;
        }
    };
    next.run(req).await
}
