//! Round trips of the spec digest's worked examples and the ProtoJSON input tolerances.

use serde_json::{Value, json};

use super::*;

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(v: Value) -> Value {
    let t: T = serde_json::from_value(v).expect("parses");
    serde_json::to_value(&t).expect("serializes")
}

#[test]
fn send_message_example_round_trips() {
    let req = json!({"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"What is the weather?"}]},"configuration":{"acceptedOutputModes":["text/plain"],"historyLength":0}});
    assert_eq!(round_trip::<SendMessageRequest>(req.clone()), req);
    let resp = json!({"task":{"id":"t1","contextId":"c1","status":{"state":"TASK_STATE_COMPLETED","timestamp":"2026-01-01T00:00:00.000Z"},"artifacts":[{"artifactId":"a1","parts":[{"text":"Sunny"}]}]}});
    assert_eq!(round_trip::<SendMessageResponse>(resp.clone()), resp);
}

#[test]
fn stream_events_round_trip() {
    for ev in [
        json!({"task":{"id":"t1","contextId":"c1","status":{"state":"TASK_STATE_SUBMITTED"}}}),
        json!({"statusUpdate":{"taskId":"t1","contextId":"c1","status":{"state":"TASK_STATE_WORKING"}}}),
        json!({"artifactUpdate":{"taskId":"t1","contextId":"c1","artifact":{"artifactId":"a1","parts":[{"text":"chunk1"}]}}}),
        json!({"artifactUpdate":{"taskId":"t1","contextId":"c1","artifact":{"artifactId":"a1","parts":[{"text":"chunk2"}]},"append":true,"lastChunk":true}}),
        json!({"message":{"messageId":"m","role":"ROLE_AGENT","parts":[{"data":[1,2]}]}}),
    ] {
        assert_eq!(round_trip::<StreamResponse>(ev.clone()), ev);
    }
}

#[test]
fn parts_of_every_kind_round_trip() {
    for p in [
        json!({"text":"hi"}),
        json!({"raw":"iVBORw==","filename":"a.png","mediaType":"image/png"}),
        json!({"url":"https://x/a.pdf","mediaType":"application/pdf"}),
        json!({"data":{"k":1},"mediaType":"application/json"}),
        json!({"data":"a string is a Value too"}),
    ] {
        assert_eq!(round_trip::<Part>(p.clone()), p);
    }
}

#[test]
fn part_content_is_exactly_one() {
    let none: Part = serde_json::from_value(json!({"mediaType":"text/plain"})).unwrap();
    let two: Part = serde_json::from_value(json!({"text":"a","url":"b"})).unwrap();
    assert_eq!(
        validate::part(&none, "p").unwrap_err().field.as_deref(),
        Some("p")
    );
    assert!(validate::part(&two, "p").is_err());
    let bad_raw: Part = serde_json::from_value(json!({"raw":"%%%"})).unwrap();
    assert_eq!(
        validate::part(&bad_raw, "p").unwrap_err().field.as_deref(),
        Some("p.raw")
    );
}

#[test]
fn minimal_card_round_trips() {
    let card = json!({
      "name": "Echo Agent",
      "description": "Echoes input",
      "supportedInterfaces": [
        {"url": "https://agent.example.com/a2a/jsonrpc", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
        {"url": "https://agent.example.com/a2a/rest",    "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"}
      ],
      "version": "1.0.0",
      "capabilities": {"streaming": true, "pushNotifications": false, "extendedAgentCard": false},
      "defaultInputModes": ["text/plain"],
      "defaultOutputModes": ["text/plain"],
      "skills": [{"id": "echo", "name": "Echo", "description": "Echo text", "tags": ["echo"]}]
    });
    assert_eq!(round_trip::<AgentCard>(card.clone()), card);
}

#[test]
fn security_schemes_round_trip() {
    let v = json!({
      "name":"s","description":"d","supportedInterfaces":[],"version":"1","capabilities":{},
      "defaultInputModes":[],"defaultOutputModes":[],"skills":[],
      "securitySchemes": {
        "bearer": {"httpAuthSecurityScheme": {"scheme": "Bearer", "bearerFormat": "JWT"}},
        "google": {"openIdConnectSecurityScheme": {"openIdConnectUrl": "https://accounts.google.com/.well-known/openid-configuration"}},
        "key":    {"apiKeySecurityScheme": {"location": "header", "name": "X-API-Key"}},
        "mtls":   {"mtlsSecurityScheme": {}},
        "oauth":  {"oauth2SecurityScheme": {"flows": {"clientCredentials": {"tokenUrl": "https://auth.example.com/token", "scopes": {"a2a": "use agent"}}}}}
      },
      "securityRequirements": [{"schemes": {"google": {"list": ["openid","profile"]}}}, {"schemes": {"bearer": {"list": []}}}],
      "signatures": [{"protected":"eyJhbGciOiJFUzI1NiJ9","signature":"c2ln","header":{"kid":"k1"}}]
    });
    assert_eq!(round_trip::<AgentCard>(v.clone()), v);
}

#[test]
fn list_tasks_response_always_has_four_fields() {
    let v = serde_json::to_value(ListTasksResponse::default()).unwrap();
    assert_eq!(
        v,
        json!({"tasks":[],"nextPageToken":"","pageSize":0,"totalSize":0})
    );
}

#[test]
fn protojson_input_tolerance() {
    // snake_case names, enum numbers, null as unset, numeric strings for int32
    let req: SendMessageRequest = serde_json::from_value(json!({
        "message": {"message_id":"m1","role":1,"parts":[{"text":"x","media_type":null}],"context_id":null,"metadata":null},
        "configuration": {"history_length":"3","return_immediately":null,"accepted_output_modes":null}
    }))
    .unwrap();
    let m = req.message.unwrap();
    assert_eq!((m.message_id.as_str(), m.role), ("m1", Role::User));
    assert_eq!(req.configuration.unwrap().history_length, Some(3));
    let l: ListTasksRequest = serde_json::from_value(
        json!({"status":2,"page_size":10,"status_timestamp_after":"2025-11-09T10:30:00.123456Z"}),
    )
    .unwrap();
    assert_eq!(l.status, TaskState::Working);
    assert_eq!(l.page_size, Some(10));
    assert!(l.status_timestamp_after.is_some());
}

#[test]
fn defaults_are_omitted_on_output() {
    let t = Task {
        id: "t".into(),
        ..Task::default()
    };
    assert_eq!(
        serde_json::to_value(&t).unwrap(),
        json!({"id":"t","status":{"state":"TASK_STATE_UNSPECIFIED"}})
    );
}

#[test]
fn jsonrpc_errors_by_kind() {
    let (id, e) = jsonrpc::parse_request(b"{not json").unwrap_err();
    assert_eq!((id, e.kind), (Value::Null, ErrorKind::ParseError));
    let (_, e) = jsonrpc::parse_request(b"[{\"jsonrpc\":\"2.0\"}]").unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    let (_, e) = jsonrpc::parse_request(b"[1, ").unwrap_err();
    assert_eq!(e.kind, ErrorKind::ParseError);
    let (id, e) =
        jsonrpc::parse_request(br#"{"jsonrpc":"1.0","id":7,"method":"GetTask"}"#).unwrap_err();
    assert_eq!((id, e.kind), (json!(7), ErrorKind::InvalidRequest));
    let r = jsonrpc::parse_request(
        br#"{"jsonrpc":"2.0","id":"a","method":"GetTask","params":{"id":"x"}}"#,
    )
    .unwrap();
    let p: GetTaskRequest = jsonrpc::parse_params(r.params).unwrap();
    assert_eq!(p.id, "x");
    let r = jsonrpc::parse_request(br#"{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"parts":[{"text":5}]}}}"#).unwrap();
    let e = jsonrpc::parse_params::<SendMessageRequest>(r.params).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("message.parts[0].text"));
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        jsonrpc::parse_request(deep.as_bytes()).unwrap_err().1.kind,
        ErrorKind::InvalidRequest
    );
}
