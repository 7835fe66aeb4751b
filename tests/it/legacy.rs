//! A 0.3 client: raw 0.3 JSON-RPC (no `A2A-Version`), the 0.1/0.2 `tasks/send`, the 0.3 card.

use serde_json::{Value, json};

use crate::common::{SseReader, TestServer, scripted, uuid};

/// A JSON-RPC call the way a 0.3 client makes it: no version header.
async fn call03(s: &TestServer, method: &str, params: Value) -> Value {
    s.client
        .post(&s.url)
        .json(&json!({"jsonrpc": "2.0", "id": "x", "method": method, "params": params}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn msg03(text: &str) -> Value {
    json!({"kind": "message", "messageId": uuid(), "role": "user", "parts": [{"kind": "text", "text": text}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_0_3_client_gets_0_3_shapes() {
    let (s, _) = scripted(|_| {}).await;

    // message/send: the Task directly in `result`, with `kind` and lowercase states
    let r = call03(&s, "message/send", json!({"message": msg03("hello")})).await;
    let task = &r["result"];
    assert_eq!(task["kind"], "task", "{r}");
    assert_eq!(task["status"]["state"], "completed");
    assert_eq!(
        task["artifacts"][0]["parts"][0],
        json!({"kind": "text", "text": "hello (turn with 1 messages)"})
    );
    assert_eq!(task["history"][0]["kind"], "message");
    assert_eq!(task["history"][0]["role"], "user");
    let id = task["id"].as_str().unwrap().to_owned();

    // tasks/get, with history trimmed
    let got = call03(&s, "tasks/get", json!({"id": id, "historyLength": 0})).await;
    assert_eq!(got["result"]["id"], id.as_str());
    assert!(got["result"].get("history").is_none(), "{got}");

    // a bare reply is a 0.3 Message
    let reply = call03(&s, "message/send", json!({"message": msg03("reply")})).await;
    assert_eq!(reply["result"]["kind"], "message", "{reply}");
    assert_eq!(reply["result"]["role"], "agent");

    // a task waiting for input, to cancel later
    let waiting = call03(
        &s,
        "message/send",
        json!({"message": msg03("input"), "configuration": {"blocking": true}}),
    )
    .await;
    assert_eq!(
        waiting["result"]["status"]["state"], "input-required",
        "{waiting}"
    );
    let wid = waiting["result"]["id"].as_str().unwrap().to_owned();

    // push config: set, get, list, delete in the nested 0.3 shape
    let set = call03(&s, "tasks/pushNotificationConfig/set", json!({"taskId": wid, "pushNotificationConfig": {
        "id": "h", "url": "https://example.com/h", "authentication": {"schemes": ["Bearer"], "credentials": "c"}}})).await;
    assert_eq!(set["result"]["taskId"], wid.as_str(), "{set}");
    assert_eq!(
        set["result"]["pushNotificationConfig"]["authentication"]["schemes"][0],
        "Bearer"
    );
    let get = call03(
        &s,
        "tasks/pushNotificationConfig/get",
        json!({"id": wid, "pushNotificationConfigId": "h"}),
    )
    .await;
    assert_eq!(
        get["result"]["pushNotificationConfig"]["url"],
        "https://example.com/h"
    );
    let list = call03(&s, "tasks/pushNotificationConfig/list", json!({"id": wid})).await;
    assert_eq!(list["result"].as_array().unwrap().len(), 1, "{list}");
    let del = call03(
        &s,
        "tasks/pushNotificationConfig/delete",
        json!({"id": wid, "pushNotificationConfigId": "h"}),
    )
    .await;
    assert!(
        del["result"].is_null() && del.get("error").is_none(),
        "{del}"
    );

    let canceled = call03(&s, "tasks/cancel", json!({"id": wid})).await;
    assert_eq!(canceled["result"]["status"]["state"], "canceled");
    assert_eq!(
        call03(&s, "tasks/cancel", json!({"id": wid})).await["error"]["code"],
        -32002
    );
    assert_eq!(
        call03(&s, "tasks/get", json!({"id": "nope"})).await["error"]["code"],
        -32001
    );

    // message/stream: 0.3 events, `final` on the last status update
    let resp = s
        .client
        .post(&s.url)
        .json(&json!({"jsonrpc": "2.0", "id": 7, "method": "message/stream", "params": {"message": msg03("steps:1")}}))
        .send()
        .await
        .unwrap();
    let events = SseReader::new(resp).collect().await;
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e.data["result"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["task", "status-update", "artifact-update", "status-update"],
        "{events:?}"
    );
    let last = &events.last().unwrap().data["result"];
    assert_eq!(last["status"]["state"], "completed");
    assert_eq!(last["final"], true);
    assert_eq!(events[1].data["result"]["final"], false);

    // 0.1/0.2: tasks/send with `type` parts and a sessionId
    let old = call03(
        &s,
        "tasks/send",
        json!({"id": "client-chosen", "sessionId": "sess-1",
        "message": {"role": "user", "parts": [{"type": "text", "text": "old client"}]}}),
    )
    .await;
    assert_eq!(old["result"]["status"]["state"], "completed", "{old}");
    assert_eq!(old["result"]["contextId"], "sess-1");

    // versions: a 1.0 method without a version is still refused; a 0.3 method with 1.0 is unknown
    assert_eq!(
        call03(&s, "SendMessage", json!({"message": msg03("x")})).await["error"]["code"],
        -32009
    );
    let r: Value = s.rpc("message/send", json!({"message": msg03("x")})).await;
    assert_eq!(r["error"]["code"], -32601);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_0_3_card_is_served_at_agent_json() {
    let (s, _) = scripted(|_| {}).await;
    let card = s.get_json("/.well-known/agent.json").await;
    assert_eq!(card["protocolVersion"], "0.3.0");
    assert_eq!(card["preferredTransport"], "JSONRPC");
    assert_eq!(card["url"], format!("{}/", s.url));
    assert_eq!(card["capabilities"]["streaming"], true);
    assert_eq!(card["additionalInterfaces"][1]["transport"], "HTTP+JSON");
    let named = s
        .client
        .get(format!("{}/agents/scripted/.well-known/agent.json", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(named.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_0_3_rest_client_uses_v1_routes_and_the_0_3_proto_json() {
    let (s, _) = scripted(|_| {}).await;
    let post =
        |path: &str, body: Value| s.client.post(format!("{}{path}", s.url)).json(&body).send();
    let sent: Value = post(
        "/v1/message:send",
        json!({"request": {"message_id": uuid(), "role": "ROLE_USER", "content": [{"text": "input"}]}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let task = &sent["task"];
    assert_eq!(
        task["status"]["state"], "TASK_STATE_INPUT_REQUIRED",
        "{sent}"
    );
    assert_eq!(task["history"][0]["content"][0]["text"], "input");
    let id = task["id"].as_str().unwrap().to_owned();
    let got: Value = s
        .client
        .get(format!("{}/v1/tasks/{id}", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["id"], id.as_str());
    let cfg: Value = post(
        &format!("/v1/tasks/{id}/pushNotificationConfigs"),
        json!({"parent": format!("tasks/{id}"), "config_id": "h",
               "config": {"push_notification_config": {"url": "https://example.com/h"}}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        cfg["name"],
        format!("tasks/{id}/pushNotificationConfigs/h"),
        "{cfg}"
    );
    let canceled: Value = post(&format!("/v1/tasks/{id}:cancel"), json!({}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        canceled["status"]["state"], "TASK_STATE_CANCELLED",
        "{canceled}"
    );
    // With A2A-Version: 1.0, `/v1` is just a tenant named v1: the 1.0 routes answer 1.0 shapes.
    let v1: Value = s
        .client
        .get(format!("{}/v1/tasks/{id}", s.url))
        .header("A2A-Version", "1.0")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v1["status"]["state"], "TASK_STATE_CANCELED");
}
