//! The gRPC binding (`lf.a2a.v1.A2AService`, spec digest §2.3) for the server's default agent.
//!
//! tonic does the HTTP/2 and gRPC framing; each message is turned from protobuf into ProtoJSON
//! with the descriptors of `proto/a2a.proto` (prost-reflect) and goes through the same
//! `ops::invoke` as JSON-RPC and REST, and the result comes back the same way. So the three
//! bindings share one implementation and one JSON model. Metadata: `a2a-version` (required, as
//! on the other bindings), `a2a-extensions`, and `last-event-id` for SubscribeToTask resume.
//! Errors are a `google.rpc.Status` with an `ErrorInfo` (and, for a bad field, `BadRequest`) in
//! `grpc-status-details-bin`, with the codes of [`ErrorKind::grpc_status`].

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use prost_reflect::{DynamicMessage, MethodDescriptor};
use tonic::Status;
use tonic::body::Body;
use tonic::server::{Grpc, NamedService};

use super::card::CardUrls;
use super::limits::Limits;
use super::ops::{self, Answer};
use crate::Runtime;
use crate::protocol::grpc::{BytesCodec, SERVICE, descriptors, encode, status};
use crate::protocol::{A2aError, ErrorKind, Operation, negotiate};
use crate::runtime::ANONYMOUS;

/// The gRPC service of `runtime`'s default agent; `card` is where its card says it is served
/// (the extended card answers with it).
#[derive(Clone)]
pub struct A2aGrpc {
    runtime: Runtime,
    card: std::sync::Arc<CardUrls>,
    limits: Limits,
}

impl A2aGrpc {
    /// Serves within `limits`, shared with the server's other bindings.
    pub fn new(runtime: Runtime, card: CardUrls, limits: Limits) -> Self {
        Self {
            runtime,
            card: std::sync::Arc::new(card),
            limits,
        }
    }

    /// The service as tonic routes, ready for `tonic::transport::Server::add_routes`.
    pub fn routes(self) -> tonic::service::Routes {
        tonic::service::Routes::new(self)
    }
}

impl NamedService for A2aGrpc {
    const NAME: &'static str = SERVICE;
}

impl tower_service::Service<http::Request<Body>> for A2aGrpc {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future =
        Pin<Box<dyn std::future::Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.serve(req).await) })
    }
}

/// The request's metadata, as the shared operations need it.
struct Meta {
    version: Option<String>,
    extensions: Vec<String>,
    last_event_id: Option<u64>,
}

impl Meta {
    fn of(headers: &http::HeaderMap) -> Self {
        let get = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
        Self {
            version: get("a2a-version").map(str::to_owned),
            extensions: super::http::requested_extensions(headers),
            last_event_id: get("last-event-id").and_then(|v| v.trim().parse().ok()),
        }
    }
}

impl A2aGrpc {
    async fn serve(self, req: http::Request<Body>) -> http::Response<Body> {
        // Held until the response (for a stream: its headers) is ready; a stream then holds a
        // stream slot of its own.
        let _permit = match self.limits.request("grpc") {
            Ok(p) => p,
            Err(e) => return status(&e).into_http(),
        };
        let name = req
            .uri()
            .path()
            .strip_prefix(&format!("/{SERVICE}/"))
            .unwrap_or("")
            .to_owned();
        let Some(method) = descriptors()
            .get_service_by_name(SERVICE)
            .and_then(|s| s.methods().find(|m| m.name() == name))
        else {
            return Status::unimplemented(format!("no method {name:?} in {SERVICE}")).into_http();
        };
        let meta = Meta::of(req.headers());
        let mut grpc = Grpc::new(BytesCodec);
        if method.is_server_streaming() {
            let svc = tower::service_fn(move |r: tonic::Request<Bytes>| {
                let this = self.clone();
                let (method, meta) = (method.clone(), meta_clone(&meta));
                async move { this.stream(&method, &meta, r.into_inner()).await }
            });
            grpc.server_streaming(svc, req).await
        } else {
            let svc = tower::service_fn(move |r: tonic::Request<Bytes>| {
                let this = self.clone();
                let (method, meta) = (method.clone(), meta_clone(&meta));
                async move { this.unary(&method, &meta, r.into_inner()).await }
            });
            grpc.unary(svc, req).await
        }
    }

    /// Decodes the request into ProtoJSON and runs the operation.
    async fn invoke(
        &self,
        method: &MethodDescriptor,
        meta: &Meta,
        body: Bytes,
    ) -> Result<Answer, Status> {
        negotiate(meta.version.as_deref()).map_err(|e| status(&e))?;
        let input = DynamicMessage::decode(method.input(), body).map_err(|e| {
            status(&A2aError::with_message(
                ErrorKind::InvalidRequest,
                format!("the request is not a valid {}: {e}", method.input().name()),
            ))
        })?;
        let params = serde_json::value::to_raw_value(&input).map_err(internal)?;
        let Some(agent) = self.runtime.default_agent() else {
            return Err(Status::unavailable("this server has no agents"));
        };
        let call = ops::Call {
            agent: &agent,
            caller: ANONYMOUS,
            limits: &self.limits,
            binding: "grpc",
            last_event_id: meta.last_event_id,
            extensions: &meta.extensions,
            card: &|| (*self.card).clone(),
        };
        let op = Operation::from_name(method.name())
            .ok_or_else(|| Status::unimplemented(format!("no operation {}", method.name())))?;
        ops::invoke(&self.runtime, &call, op, Some(&params))
            .await
            .map_err(|e| status(&e))
    }

    async fn unary(
        &self,
        method: &MethodDescriptor,
        meta: &Meta,
        body: Bytes,
    ) -> Result<tonic::Response<Bytes>, Status> {
        match self.invoke(method, meta, body).await? {
            Answer::Json(json) => Ok(tonic::Response::new(encode(&method.output(), &json)?)),
            // google.protobuf.Empty has no fields: zero bytes.
            Answer::Empty => Ok(tonic::Response::new(Bytes::new())),
            Answer::Stream(_) => Err(internal("a unary method answered with a stream")),
        }
    }

    async fn stream(
        &self,
        method: &MethodDescriptor,
        meta: &Meta,
        body: Bytes,
    ) -> Result<tonic::Response<EventStream>, Status> {
        let Answer::Stream(stream) = self.invoke(method, meta, body).await? else {
            return Err(internal("a streaming method answered without a stream"));
        };
        let output = method.output();
        let events = futures_util::stream::unfold(Some(*stream), move |state| {
            let output = output.clone();
            async move {
                let mut stream = state?;
                match stream.next().await? {
                    Ok(ev) => Some((encode(&output, &ev.json), Some(stream))),
                    Err(e) => Some((Err(status(&e)), None)),
                }
            }
        });
        Ok(tonic::Response::new(Box::pin(events)))
    }
}

type EventStream = Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, Status>> + Send>>;

fn meta_clone(m: &Meta) -> Meta {
    Meta {
        version: m.version.clone(),
        extensions: m.extensions.clone(),
        last_event_id: m.last_event_id,
    }
}

fn internal(e: impl std::fmt::Display) -> Status {
    status(&A2aError::with_message(ErrorKind::Internal, e.to_string()))
}

/// Serves the gRPC binding on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    service: A2aGrpc,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tonic::transport::Server::builder()
        .add_routes(service.routes())
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}
