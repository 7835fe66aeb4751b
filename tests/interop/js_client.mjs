// The official A2A JS SDK (npm `@a2a-js/sdk`, pinned in tests/interop/package.json) as a client
// of our server.
//
// Usage: node js_client.mjs SDK_DIR BASE_URL BINDING   (BINDING: jsonrpc or rest)
//
// SDK_DIR is the npm prefix the SDK was installed into (`npm install --prefix SDK_DIR
// @a2a-js/sdk@VERSION`, so it holds node_modules/@a2a-js/sdk). ESM ignores NODE_PATH, so the SDK is
// loaded by file URL through its package.json "exports" map. BASE_URL serves `echo` (taking a
// few hundred ms per task) as its card's default agent. The script fetches the card, builds a client
// restricted to the one transport asked for, and runs send (blocking and streaming), get, list
// (with and without a status filter), cancel and error checks through the SDK's own client. Every
// check runs, even after a failure; each failure is printed with its error. It prints
// `OK <binding> (N checks)` and exits 0 when every check held, otherwise `FAIL <binding>: ...`
// and exits 1.

import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const [sdkDir, baseUrl, binding] = process.argv.slice(2);
const TRANSPORTS = { jsonrpc: "JSONRPC", rest: "HTTP+JSON" };
if (!sdkDir || !baseUrl || !(binding in TRANSPORTS)) {
  console.error("usage: node js_client.mjs SDK_DIR BASE_URL jsonrpc|rest");
  process.exit(2);
}
const protocolName = TRANSPORTS[binding];

// --- Loading the SDK -------------------------------------------------------------------------

const sdkRoot = join(sdkDir, "node_modules", "@a2a-js", "sdk");
let sdkPkg;
try {
  sdkPkg = JSON.parse(readFileSync(join(sdkRoot, "package.json"), "utf8"));
} catch (e) {
  console.error(`FAIL ${binding}: no @a2a-js/sdk under ${sdkDir} (${e.message})`);
  process.exit(1);
}
const pinned = JSON.parse(
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), "package.json"), "utf8"),
).dependencies["@a2a-js/sdk"];
if (sdkPkg.version !== pinned) {
  console.error(`FAIL ${binding}: @a2a-js/sdk ${sdkPkg.version} installed, ${pinned} pinned`);
  process.exit(1);
}
const load = (subpath) => {
  const entry = sdkPkg.exports[subpath];
  const file = typeof entry === "string" ? entry : entry.import ?? entry.default;
  return import(pathToFileURL(join(sdkRoot, file)).href);
};
const { TaskState, Role } = await load(".");
const { ClientFactory, DefaultAgentCardResolver, JsonRpcTransportFactory, RestTransportFactory } =
  await load("./client");

// --- Checks ----------------------------------------------------------------------------------

const results = [];

/** Runs one named check; a failure is recorded (and printed), not thrown. */
async function check(name, body) {
  try {
    await body();
    results.push({ name, ok: true });
    console.log(`  ok   ${name}`);
  } catch (e) {
    const detail = describe(e);
    results.push({ name, ok: false, detail });
    console.log(`  FAIL ${name}: ${detail}`);
  }
}

function describe(e) {
  if (!(e instanceof Error)) return String(e);
  const extra = ["envelopeCode", "statusCode", "data"]
    .filter((k) => e[k] !== undefined)
    .map((k) => `${k}=${JSON.stringify(e[k])}`);
  const cause = e.cause ? ` (cause: ${e.cause.code ?? e.cause.message ?? e.cause})` : "";
  return `${e.name}: ${e.message}${cause}${extra.length ? ` [${extra.join(", ")}]` : ""}`;
}

function assert(cond, what, got) {
  if (!cond) {
    throw new Error(got === undefined ? what : `${what}; got ${JSON.stringify(got, jsonSafe)}`);
  }
}

const jsonSafe = (_k, v) => (typeof v === "bigint" ? String(v) : v);
const stateName = (s) => TaskState[s] ?? String(s);

function message(text) {
  return {
    messageId: `js-${randomUUID()}`,
    role: Role.ROLE_USER,
    parts: [{ content: { $case: "text", value: text } }],
  };
}

function isTask(result) {
  return result && typeof result === "object" && "id" in result && "status" in result;
}

function textOf(artifact) {
  const part = artifact?.parts?.[0]?.content;
  return part?.$case === "text" ? part.value : undefined;
}

/** Expects `call` to reject with the SDK's error class `name` (and the binding's wire code). */
async function expectError(call, name, jsonRpcCode, restStatus) {
  let result;
  try {
    result = await call();
  } catch (e) {
    assert(e?.name === name, `expected ${name}, got ${describe(e)}`);
    if (binding === "jsonrpc" && jsonRpcCode !== undefined) {
      assert(e.envelopeCode === jsonRpcCode, `expected JSON-RPC code ${jsonRpcCode}`, e.envelopeCode);
    }
    if (binding === "rest" && restStatus !== undefined) {
      assert(e.statusCode === restStatus, `expected HTTP ${restStatus}`, e.statusCode);
    }
    return;
  }
  throw new Error(`expected ${name}, but the call succeeded with ${JSON.stringify(result, jsonSafe)}`);
}

console.log(`@a2a-js/sdk ${sdkPkg.version} against ${baseUrl} over ${protocolName}`);

let card;
let client;
let done; // the completed task of the blocking send
let canceled; // the task canceled below

await check("fetch the agent card", async () => {
  card = await new DefaultAgentCardResolver().resolve(baseUrl);
  assert(card.name === "echo", "card name is echo", card.name);
  assert(card.capabilities?.streaming === true, "card says streaming", card.capabilities);
  const iface = (card.supportedInterfaces ?? []).find((i) => i.protocolBinding === protocolName);
  assert(iface, `card lists a ${protocolName} interface`, card.supportedInterfaces);
  assert(iface.protocolVersion === "1.0", "interface is protocol 1.0", iface);
});

await check(`create a ${protocolName} client from the card URL`, async () => {
  const transport = binding === "jsonrpc" ? new JsonRpcTransportFactory() : new RestTransportFactory();
  const factory = new ClientFactory({ transports: [transport], preferredTransports: [protocolName] });
  client = await factory.createFromUrl(baseUrl);
  assert(client.transport.protocolName === protocolName, "selected transport", client.transport.protocolName);
  assert(client.protocolVersion === "1.0", "client protocol version", client.protocolVersion);
});
if (!client) finish(); // nothing else can run without a client

await check("send a message (blocking): completed task with the echoed artifact", async () => {
  const result = await client.sendMessage({ message: message("hello from js") });
  assert(isTask(result), "the result is a Task", result);
  assert(result.id && result.contextId, "task has id and contextId", result);
  assert(result.status?.state === TaskState.TASK_STATE_COMPLETED, "state COMPLETED", stateName(result.status?.state));
  assert(textOf(result.artifacts[0]) === "hello from js", "artifact echoes the text", result.artifacts);
  done = result;
});

await check("get the task", async () => {
  assert(done, "needs the task of the blocking send");
  const got = await client.getTask({ id: done.id });
  assert(got.id === done.id, "same id", got.id);
  assert(got.contextId === done.contextId, "same contextId", got.contextId);
  assert(got.status?.state === TaskState.TASK_STATE_COMPLETED, "state COMPLETED", stateName(got.status?.state));
  assert(textOf(got.artifacts[0]) === "hello from js", "artifact echoes the text", got.artifacts);
});

// `status` left out, as a JS caller writes it. Over JSON-RPC the SDK's ListTasksRequest.toJSON
// turns the missing status into "status":"UNRECOGNIZED"; REST leaves it out of the query.
await check("list tasks without a status filter", async () => {
  assert(done, "needs the task of the blocking send");
  const page = await client.listTasks({ pageSize: 100 });
  assert(page.tasks.some((t) => t.id === done.id), "the task is listed", page.tasks.map((t) => t.id));
  assert(page.totalSize >= 1, "totalSize >= 1", page.totalSize);
});

// The same, with the proto default spelled out: the SDK then sends no status at all.
await check("list tasks with status TASK_STATE_UNSPECIFIED (no filter)", async () => {
  assert(done, "needs the task of the blocking send");
  const page = await client.listTasks({ status: TaskState.TASK_STATE_UNSPECIFIED, pageSize: 100 });
  assert(page.tasks.some((t) => t.id === done.id), "the task is listed", page.tasks.map((t) => t.id));
});

await check("list tasks with status filter COMPLETED", async () => {
  assert(done, "needs the task of the blocking send");
  const page = await client.listTasks({ status: TaskState.TASK_STATE_COMPLETED, pageSize: 100 });
  assert(page.tasks.some((t) => t.id === done.id), "the task is listed", page.tasks.map((t) => t.id));
  const other = page.tasks.filter((t) => t.status?.state !== TaskState.TASK_STATE_COMPLETED);
  assert(other.length === 0, "only COMPLETED tasks", other.map((t) => [t.id, stateName(t.status?.state)]));
});

await check("stream a message: task first, then updates, ending COMPLETED", async () => {
  const events = [];
  for await (const ev of client.sendMessageStream({ message: message("stream me") })) {
    events.push(ev);
  }
  const cases = events.map((e) => e.payload?.$case);
  assert(events.length >= 2, "several events", cases);
  assert(cases[0] === "task", "first event is the task", cases);
  const taskId = events[0].payload.value.id;
  const last = events.at(-1).payload;
  const lastState = last?.$case === "statusUpdate" ? last.value.status?.state : last?.value?.status?.state;
  assert(lastState === TaskState.TASK_STATE_COMPLETED, "last event is COMPLETED", stateName(lastState));
  const echoed = events.some(
    (e) => e.payload?.$case === "artifactUpdate" && textOf(e.payload.value.artifact) === "stream me",
  );
  assert(echoed, "an artifact update echoes the text", cases);
  for (const e of events.slice(1)) {
    const id = e.payload?.value?.taskId ?? e.payload?.value?.id;
    assert(id === taskId, "every event is about the streamed task", id);
  }
});

await check("cancel a running task", async () => {
  const started = await client.sendMessage({
    message: message("cancel me"),
    configuration: { returnImmediately: true },
  });
  assert(isTask(started), "the result is a Task", started);
  const early = [TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING];
  assert(early.includes(started.status?.state), "returned before it finished", stateName(started.status?.state));
  const result = await client.cancelTask({ id: started.id });
  assert(result.id === started.id, "same id", result.id);
  assert(result.status?.state === TaskState.TASK_STATE_CANCELED, "state CANCELED", stateName(result.status?.state));
  const got = await client.getTask({ id: started.id });
  assert(got.status?.state === TaskState.TASK_STATE_CANCELED, "stays CANCELED", stateName(got.status?.state));
  canceled = result;
});

await check("list tasks with status filter CANCELED", async () => {
  assert(canceled && done, "needs the canceled and the completed task");
  const page = await client.listTasks({ status: TaskState.TASK_STATE_CANCELED, pageSize: 100 });
  const ids = page.tasks.map((t) => t.id);
  assert(ids.includes(canceled.id), "the canceled task is listed", ids);
  assert(!ids.includes(done.id), "the completed task is not", ids);
});

await check("get an unknown task: TaskNotFoundError", () =>
  expectError(() => client.getTask({ id: `no-such-task-${randomUUID()}` }), "TaskNotFoundError", -32001, 404),
);

await check("cancel an unknown task: TaskNotFoundError", () =>
  expectError(() => client.cancelTask({ id: `no-such-task-${randomUUID()}` }), "TaskNotFoundError", -32001, 404),
);

await check("cancel a completed task: TaskNotCancelableError", async () => {
  assert(done, "needs the task of the blocking send");
  await expectError(() => client.cancelTask({ id: done.id }), "TaskNotCancelableError", -32002);
});

finish();

function finish() {
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0) {
    console.log(`OK ${binding} (${results.length} checks)`);
    process.exit(0);
  }
  console.log(
    `FAIL ${binding}: ${failed.length} of ${results.length} checks failed: ` +
      failed.map((r) => `[${r.name}] ${r.detail}`).join("; "),
  );
  process.exit(1);
}
