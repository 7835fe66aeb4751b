"""The official A2A Python SDK (a2a-sdk 1.x) as a client of our server.

Usage: sdk_client.py BASE_URL SLOW_URL BINDING   (BINDING: JSONRPC, HTTP+JSON or GRPC)

BASE_URL serves `echo` (its card's default agent) and SLOW_URL an echo that works for a few
seconds; the SDK discovers both from their cards. Runs send (blocking and streaming), get, list, cancel, subscribe and the
push-config calls through the SDK's own client, over the one binding asked for, and prints
`OK <binding>` when every check held; any failure raises (exit status 1).
"""

import asyncio
import sys
import uuid

import grpc

from a2a.client import ClientConfig, create_client
from a2a.types import (
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    SubscribeToTaskRequest,
    TaskPushNotificationConfig,
    TaskState,
)


def message(text: str) -> Message:
    return Message(message_id=f"py-{uuid.uuid4()}", role=Role.ROLE_USER, parts=[Part(text=text)])


async def client_for(url: str, binding: str, streaming: bool):
    config = ClientConfig(
        streaming=streaming,
        supported_protocol_bindings=[binding],
        grpc_channel_factory=grpc.aio.insecure_channel,
    )
    return await create_client(url, client_config=config)


async def collect(stream) -> list:
    return [event async for event in stream]


def task_of(responses: list):
    """The last task the responses carry (a streamed task is folded by the SDK)."""
    tasks = [r.task for r in responses if r.HasField("task")]
    assert tasks, f"no task in {responses}"
    return tasks[-1]


def state_of(responses: list) -> int:
    for r in reversed(responses):
        if r.HasField("status_update"):
            return r.status_update.status.state
        if r.HasField("task"):
            return r.task.status.state
    raise AssertionError(f"no state in {responses}")


async def main(base: str, slow_url: str, binding: str) -> None:
    # Blocking send: the completed task with the echoed artifact.
    client = await client_for(base, binding, streaming=False)
    responses = await collect(client.send_message(SendMessageRequest(message=message("hello from python"))))
    task = task_of(responses)
    assert task.status.state == TaskState.TASK_STATE_COMPLETED, task
    assert task.artifacts[0].parts[0].text == "hello from python", task.artifacts
    task_id = task.id

    # GetTask and ListTasks.
    got = await client.get_task(GetTaskRequest(id=task_id))
    assert got.id == task_id and got.status.state == TaskState.TASK_STATE_COMPLETED, got
    listed = await client.list_tasks(ListTasksRequest(page_size=100))
    assert task_id in [t.id for t in listed.tasks], listed
    assert listed.total_size >= 1

    # Streaming send: the task, updates, completed.
    streaming = await client_for(base, binding, streaming=True)
    events = await collect(streaming.send_message(SendMessageRequest(message=message("stream me"))))
    assert events[0].HasField("task"), events[0]
    assert state_of(events) == TaskState.TASK_STATE_COMPLETED, events

    # A slow task, not waited for: cancel it.
    slow = await client_for(slow_url, binding, streaming=False)
    config = SendMessageConfiguration(return_immediately=True)
    started = await collect(slow.send_message(SendMessageRequest(message=message("cancel me"), configuration=config)))
    to_cancel = task_of(started)
    assert to_cancel.status.state in (TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING), to_cancel
    canceled = await slow.cancel_task(CancelTaskRequest(id=to_cancel.id))
    assert canceled.status.state == TaskState.TASK_STATE_CANCELED, canceled

    # Another slow task: push configs on it, then subscribe until it completes.
    started = await collect(slow.send_message(SendMessageRequest(message=message("watch me"), configuration=config)))
    watched = task_of(started).id
    cfg = TaskPushNotificationConfig(task_id=watched, id="py-hook", url="https://example.com/hook", token="t")
    created = await slow.create_task_push_notification_config(cfg)
    assert created.id == "py-hook" and created.url == "https://example.com/hook", created
    fetched = await slow.get_task_push_notification_config(
        GetTaskPushNotificationConfigRequest(task_id=watched, id="py-hook"))
    assert fetched.url == created.url, fetched
    configs = await slow.list_task_push_notification_configs(ListTaskPushNotificationConfigsRequest(task_id=watched))
    assert [c.id for c in configs.configs] == ["py-hook"], configs
    await slow.delete_task_push_notification_config(
        DeleteTaskPushNotificationConfigRequest(task_id=watched, id="py-hook"))
    configs = await slow.list_task_push_notification_configs(ListTaskPushNotificationConfigsRequest(task_id=watched))
    assert len(configs.configs) == 0, configs

    slow_streaming = await client_for(slow_url, binding, streaming=True)
    events = await collect(slow_streaming.subscribe(SubscribeToTaskRequest(id=watched)))
    assert events[0].HasField("task") and events[0].task.id == watched, events[0]
    assert state_of(events) == TaskState.TASK_STATE_COMPLETED, events

    # An unknown task is an error the SDK raises.
    try:
        await client.get_task(GetTaskRequest(id="no-such-task"))
    except Exception as e:  # noqa: BLE001 - the SDK's error type differs per binding
        assert "not found" in str(e).lower() or "-32001" in str(e) or "404" in str(e), e
    else:
        raise AssertionError("GetTask of an unknown task succeeded")

    for c in (client, streaming, slow, slow_streaming):
        await c.close()
    print(f"OK {binding}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
