//! The gRPC binding on the client side: requests are built from the same ProtoJSON the other
//! bindings send (converted with the descriptors of `proto/a2a.proto`), and answers come back as
//! ProtoJSON, so the rest of the client does not care which binding carried them.
//!
//! gRPC streams carry no event ids, so a dropped gRPC stream resumes from the Task snapshot the
//! server sends first (the JSON-RPC and REST bindings resume gap-free with `Last-Event-ID`).

use std::time::Duration;

use bytes::Bytes;
use prost::Message as _;
use prost_reflect::{DynamicMessage, MethodDescriptor};
use serde_json::Value;
use tonic::codec::Streaming;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::{Channel, Endpoint};

use super::{Attempt, ClientError};
use crate::protocol::grpc::{BytesCodec, SERVICE, descriptors, error_info};

/// A connection to one agent's gRPC endpoint (cheap to clone; connects on first use).
#[derive(Debug, Clone)]
pub(crate) struct GrpcConn {
    channel: Channel,
    pub url: String,
}

/// Whether a card's gRPC URL asks for TLS.
pub(crate) fn is_tls(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("grpcs://")
}

impl GrpcConn {
    /// `url` as a card gives it: `host:port`, or `http://host:port`.
    pub fn new(url: &str, connect_timeout: Duration) -> Result<Self, ClientError> {
        if is_tls(url) {
            return Err(ClientError::Protocol(format!(
                "{url}: gRPC over TLS is not supported by this client yet; use JSONRPC or HTTP+JSON"
            )));
        }
        let full = if url.starts_with("http://") {
            url.to_owned()
        } else {
            format!("http://{url}")
        };
        let channel = Endpoint::from_shared(full.clone())
            .map_err(|e| ClientError::Protocol(format!("gRPC URL {url:?}: {e}")))?
            .connect_timeout(connect_timeout)
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_while_idle(true)
            .connect_lazy();
        Ok(Self { channel, url: full })
    }
}

fn method(name: &str) -> Result<MethodDescriptor, ClientError> {
    descriptors()
        .get_service_by_name(SERVICE)
        .and_then(|s| s.methods().find(|m| m.name() == name))
        .ok_or_else(|| ClientError::Protocol(format!("no gRPC method {name}")))
}

/// The request: ProtoJSON params as protobuf bytes, with headers as metadata.
fn request(
    m: &MethodDescriptor,
    params: &Value,
    headers: &[(String, String)],
) -> Result<tonic::Request<Bytes>, ClientError> {
    let input = DynamicMessage::deserialize(m.input(), params)
        .map_err(|e| ClientError::Protocol(format!("{} params: {e}", m.name())))?;
    let mut req = tonic::Request::new(Bytes::from(input.encode_to_vec()));
    let md: &mut MetadataMap = req.metadata_mut();
    md.insert("a2a-version", MetadataValue::from_static("1.0"));
    for (k, v) in headers {
        let key = MetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes())
            .map_err(|e| ClientError::Protocol(format!("header {k:?}: {e}")))?;
        let value = MetadataValue::try_from(v.as_str())
            .map_err(|e| ClientError::Protocol(format!("header {k:?}: {e}")))?;
        md.insert(key, value);
    }
    Ok(req)
}

/// A status as the client's error; an unreachable or overloaded agent is worth a retry.
pub(crate) fn failed(status: &tonic::Status) -> Attempt {
    use tonic::Code;
    let reason = error_info(status).map_or_else(
        || format!("{:?}", status.code()).to_ascii_uppercase(),
        |(r, _)| r,
    );
    let e = ClientError::A2a {
        reason,
        code: i64::from(status.code() as i32),
        message: status.message().to_owned(),
    };
    match status.code() {
        Code::Unavailable | Code::ResourceExhausted | Code::DeadlineExceeded => {
            let e = if error_info(status).is_none() && status.code() == Code::Unavailable {
                ClientError::Transport(status.message().to_owned())
            } else {
                e
            };
            Attempt::Retry(e, None)
        }
        Code::Internal | Code::Unknown => Attempt::Fail(e, false),
        _ => Attempt::Fail(e, true),
    }
}

async fn ready(conn: &GrpcConn) -> Result<tonic::client::Grpc<Channel>, Attempt> {
    let mut client = tonic::client::Grpc::new(conn.channel.clone());
    client
        .ready()
        .await
        .map_err(|e| Attempt::Retry(ClientError::Transport(format!("{}: {e}", conn.url)), None))?;
    Ok(client)
}

/// A ready client, the request and its path: what both kinds of call start with.
type Prepared = (
    tonic::client::Grpc<Channel>,
    tonic::Request<Bytes>,
    http::uri::PathAndQuery,
    MethodDescriptor,
);

async fn prepare(
    conn: &GrpcConn,
    name: &str,
    params: &Value,
    headers: &[(String, String)],
) -> Result<Prepared, Attempt> {
    let m = method(name).map_err(|e| Attempt::Fail(e, true))?;
    let req = request(&m, params, headers).map_err(|e| Attempt::Fail(e, true))?;
    let path = format!("/{SERVICE}/{name}")
        .parse()
        .map_err(|e| Attempt::Fail(ClientError::Protocol(format!("{e}")), true))?;
    Ok((ready(conn).await?, req, path, m))
}

/// One unary call; the answer as ProtoJSON.
pub(crate) async fn unary(
    conn: &GrpcConn,
    name: &str,
    params: &Value,
    headers: &[(String, String)],
) -> Result<Value, Attempt> {
    let (mut client, req, path, m) = prepare(conn, name, params, headers).await?;
    let resp = client
        .unary(req, path, BytesCodec)
        .await
        .map_err(|s| failed(&s))?;
    to_json(&m, resp.into_inner()).map_err(|e| Attempt::Fail(e, true))
}

/// Opens a server stream.
pub(crate) async fn open(
    conn: &GrpcConn,
    name: &str,
    params: &Value,
    headers: &[(String, String)],
) -> Result<(Streaming<Bytes>, MethodDescriptor), Attempt> {
    let (mut client, req, path, m) = prepare(conn, name, params, headers).await?;
    let resp = client
        .server_streaming(req, path, BytesCodec)
        .await
        .map_err(|s| failed(&s))?;
    Ok((resp.into_inner(), m))
}

/// Protobuf bytes of `m`'s output → ProtoJSON.
pub(crate) fn to_json(m: &MethodDescriptor, bytes: Bytes) -> Result<Value, ClientError> {
    let msg = DynamicMessage::decode(m.output(), bytes)
        .map_err(|e| ClientError::Protocol(format!("{} answer: {e}", m.name())))?;
    serde_json::to_value(&msg).map_err(|e| ClientError::Protocol(e.to_string()))
}
