"""The official A2A Python SDK's 0.3 compatibility client against our server.

Usage: sdk_client_v03.py BASE_URL SLOW_URL BINDING   (JSONRPC or HTTP+JSON)

The SDK speaks 0.3 to an interface whose card entry says protocolVersion 0.3 (JSON-RPC:
`message/send`, `kind`, lowercase states; REST: the `/v1/...` routes and the 0.3 proto's JSON; no
A2A-Version either way); this builds such a card for our endpoint, so our 0.3 adapter is what
answers. Prints `OK 0.3 <binding>` when every check held.
"""

import asyncio
import sys
import uuid

from a2a.client import ClientConfig, ClientFactory
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    CancelTaskRequest,
    GetTaskRequest,
    Message,
    Part,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    TaskState,
)


BINDING = "JSONRPC"


def card_for(url: str) -> AgentCard:
    url = url if BINDING == "JSONRPC" else url.rstrip("/")
    return AgentCard(
        name="a2a-runtime",
        description="0.3 interop",
        version="1.0.0",
        supported_interfaces=[AgentInterface(url=url, protocol_binding=BINDING, protocol_version="0.3")],
        capabilities=AgentCapabilities(streaming=True),
    )


def message(text: str) -> Message:
    return Message(message_id=f"py03-{uuid.uuid4()}", role=Role.ROLE_USER, parts=[Part(text=text)])


async def collect(stream) -> list:
    return [e async for e in stream]


def last_task(responses):
    tasks = [r.task for r in responses if r.HasField("task")]
    assert tasks, responses
    return tasks[-1]


def config(streaming: bool) -> ClientConfig:
    return ClientConfig(streaming=streaming, supported_protocol_bindings=[BINDING])


async def main(base: str, slow: str) -> None:
    client = ClientFactory(config(False)).create(card_for(base.rstrip("/") + "/"))
    responses = await collect(client.send_message(SendMessageRequest(message=message("hello 0.3"))))
    task = last_task(responses)
    assert task.status.state == TaskState.TASK_STATE_COMPLETED, task
    assert task.artifacts[0].parts[0].text == "hello 0.3", task.artifacts
    got = await client.get_task(GetTaskRequest(id=task.id))
    assert got.id == task.id and got.status.state == TaskState.TASK_STATE_COMPLETED, got

    streaming = ClientFactory(config(True)).create(card_for(base.rstrip("/") + "/"))
    events = await collect(streaming.send_message(SendMessageRequest(message=message("stream 0.3"))))
    assert events, "no events"
    final = [e for e in events if e.HasField("status_update")] or [e for e in events if e.HasField("task")]
    state = final[-1].status_update.status.state if final[-1].HasField("status_update") else final[-1].task.status.state
    assert state == TaskState.TASK_STATE_COMPLETED, events

    slow_client = ClientFactory(config(False)).create(card_for(slow.rstrip("/") + "/"))
    started = await collect(slow_client.send_message(SendMessageRequest(
        message=message("cancel 0.3"), configuration=SendMessageConfiguration(return_immediately=True))))
    canceled = await slow_client.cancel_task(CancelTaskRequest(id=last_task(started).id))
    assert canceled.status.state == TaskState.TASK_STATE_CANCELED, canceled

    for c in (client, streaming, slow_client):
        await c.close()
    print(f"OK 0.3 {BINDING}")


if __name__ == "__main__":
    BINDING = sys.argv[3]
    asyncio.run(main(sys.argv[1], sys.argv[2]))
