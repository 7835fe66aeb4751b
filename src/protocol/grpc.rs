//! The gRPC wire pieces both sides share: the descriptors of `proto/a2a.proto` (compiled by
//! `build.rs`), ProtoJSON ⇄ protobuf through them (prost-reflect), `google.rpc.Status` with its
//! `ErrorInfo` and `BadRequest` details, and a codec that passes message bytes through. The
//! server binding (`transport::grpc`) and the client (`client::grpc`) both build on these.

use std::collections::HashMap;
use std::sync::LazyLock;

use bytes::{Buf, BufMut, Bytes};
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::{Code, Status};

use super::{A2aError, ErrorKind};

/// The service's full name.
pub const SERVICE: &str = "lf.a2a.v1.A2AService";

/// The descriptors of `proto/a2a.proto` (for clients that build messages from ProtoJSON).
pub fn descriptors() -> &'static DescriptorPool {
    &POOL
}

/// The reason and metadata of the `ErrorInfo` a status carries, if any.
pub fn error_info(status: &Status) -> Option<(String, HashMap<String, String>)> {
    let rpc = RpcStatus::decode(status.details()).ok()?;
    rpc.details
        .iter()
        .find(|a| a.type_url.ends_with("google.rpc.ErrorInfo"))
        .and_then(|a| ErrorInfo::decode(a.value.as_slice()).ok())
        .map(|i| (i.reason, i.metadata))
}

static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    DescriptorPool::decode(&include_bytes!(concat!(env!("OUT_DIR"), "/a2a.bin"))[..])
        .unwrap_or_else(|e| panic!("the compiled proto/a2a.proto is invalid: {e}"))
});

/// ProtoJSON of a message → its protobuf bytes.
pub fn encode(desc: &MessageDescriptor, json: &[u8]) -> Result<Bytes, Status> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let msg = DynamicMessage::deserialize(desc.clone(), &mut de).map_err(internal)?;
    Ok(Bytes::from(msg.encode_to_vec()))
}

// google.rpc.Status and its details, as gRPC carries them in `grpc-status-details-bin`.

#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<Any>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Any {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ErrorInfo {
    #[prost(string, tag = "1")]
    reason: String,
    #[prost(string, tag = "2")]
    domain: String,
    #[prost(map = "string, string", tag = "3")]
    metadata: HashMap<String, String>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct BadRequest {
    #[prost(message, repeated, tag = "1")]
    field_violations: Vec<FieldViolation>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct FieldViolation {
    #[prost(string, tag = "1")]
    field: String,
    #[prost(string, tag = "2")]
    description: String,
}

/// An A2A error as a gRPC status: its code, its message, and the details.
pub fn status(e: &A2aError) -> Status {
    let (code, _) = e.kind.grpc_status();
    let info = ErrorInfo {
        reason: e.kind.reason().to_owned(),
        domain: super::ERROR_DOMAIN.to_owned(),
        metadata: e.metadata.clone().into_iter().collect(),
    };
    let mut details = vec![Any {
        type_url: "type.googleapis.com/google.rpc.ErrorInfo".into(),
        value: info.encode_to_vec(),
    }];
    if let Some(field) = &e.field {
        let bad = BadRequest {
            field_violations: vec![FieldViolation {
                field: field.clone(),
                description: e.message.clone(),
            }],
        };
        details.push(Any {
            type_url: "type.googleapis.com/google.rpc.BadRequest".into(),
            value: bad.encode_to_vec(),
        });
    }
    let body = RpcStatus {
        code,
        message: e.message.clone(),
        details,
    };
    Status::with_details(
        Code::from_i32(code),
        e.message.clone(),
        Bytes::from(body.encode_to_vec()),
    )
}

/// Passes message bytes through untouched: the service decodes them with the descriptors (and a
/// client can do the same).
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesCodec;

impl Codec for BytesCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = BytesCodec;
    type Decoder = BytesCodec;

    fn encoder(&mut self) -> Self::Encoder {
        BytesCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        BytesCodec
    }
}

impl Encoder for BytesCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for BytesCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

fn internal(e: impl std::fmt::Display) -> Status {
    status(&A2aError::with_message(ErrorKind::Internal, e.to_string()))
}
