//! The accept loop: hyper's HTTP/1.1 connections driven directly, with graceful shutdown.

use super::*;

/// Serves `app` on `listener` until `shutdown` completes, then waits for open connections to
/// finish (bound that wait yourself). HTTP/1.1 only, driven by hyper directly: an idle or
/// streaming connection costs less memory than with `axum::serve`'s protocol detection.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    // A client gets 30 s to send its request head (slowloris), and a bounded read buffer.
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(std::time::Duration::from_secs(30))
        .max_buf_size(64 << 10)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        // Handlers that care who is calling (the admin routes) read the peer's address.
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(Peer(peer));
            tower_service::Service::call(&mut app.clone(), req)
        });
        let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    // Close the socket first: new clients are refused instead of waiting in the backlog.
    drop(listener);
    graceful.shutdown().await;
}
