import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import selfsigned from "selfsigned";
import * as tar from "tar";
import { digestFolder } from "../../src/artifact/index.js";
import { encodeStatement, generateCiKey, readCiKey, signValue, type UploadStatement } from "../../src/ci/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { FastifyInstance } from "fastify";
import { ApiClient, createApi } from "../../src/api/index.js";
import type { ApprovalRequest } from "../../src/engine/index.js";
import { tools } from "../../src/mcp/index.js";
import type { Release } from "../../src/store/index.js";
import { cliArgs, root, run } from "../helpers/cli.js";
import { get } from "../helpers/load.js";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";
import { waitFor } from "../helpers/wait.js";

/**
 * The MCP server end to end, with the SDK's own client over streamable HTTP (/mcp on the API's
 * listener) and over stdio (`engineroom mcp`, a child process): scoped tokens, every guardrail
 * refusing with its code, a production promote going plan → approval by a person → apply, and an
 * incident played as an agent would.
 */
const config =
  testConfig("", "")
    .replace("watch: 5m", "watch: 300ms")
    .replace("api:\n  listen: 127.0.0.1:0\n", "api:\n  listen: 127.0.0.1:0\n  rate_limit: { requests_per_minute: 60 }\n") +
  `environments:\n  staging:\n    services:\n      web: { instances: 1, release: { watch: 8s } }\n  production:\n    {}\n` +
  `runbooks:\n  revert-web:\n    description: take web back to the release before\n    service: web\n    environment: staging\n    steps:\n      - type: rollback\n`;

interface Answer {
  ok: boolean;
  value: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  error?: { code: string; message: string; hint: string; details?: Record<string, unknown> };
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<Answer> {
  // A generous timeout: the SDK's default (60 s) is short for a promote on a loaded machine.
  const result = (await client.callTool({ name, arguments: args }, undefined, { timeout: 600_000 })) as { isError?: boolean; content: { type: string; text: string }[] };
  const value = JSON.parse(result.content[0]!.text);
  return result.isError ? { ok: false, value, error: value.error } : { ok: true, value };
}

describe("MCP server: tools over HTTP and stdio, through the server's guardrails", () => {
  let p: TestProject;
  /** The engine's API with its own access checks (tokens, audit, rate limit), as `engineroom up` serves it. */
  let api: FastifyInstance;
  let address: string;
  const secrets: Record<string, string> = {};
  const clients: Client[] = [];
  const failFile = () => join(p.dir, "outage");

  const connect = async (token: string): Promise<Client> => {
    const client = new Client({ name: "test-agent", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://${address}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    clients.push(client);
    return client;
  };
  /** A build in the engine's artifact store, as CI's upload leaves it: the agent names it by digest. */
  const stored = async (behaviour: Parameters<TestProject["artifact"]>[0]) => (await p.engine.artifacts.add(p.artifact(behaviour))).digest;
  const stagingLatest = async () => (await p.api.get<{ releases: Release[] }>("/v1/services/web/releases?env=staging")).releases[0]!;

  before(async () => {
    p = await startProject(config);
    api = createApi({ engine: p.engine, token: p.token });
    await api.listen({ host: "127.0.0.1", port: 0 });
    address = `127.0.0.1:${(api.server.address() as { port: number }).port}`;
    // As `engineroom up` does, so that `engineroom mcp` finds this API.
    const info = JSON.parse(readFileSync(join(p.engine.project.stateDir, "engine.json"), "utf8"));
    p.engine.files.writeEngineInfo({ ...info, api: address });
    await p.api.stream("/v1/services/web/deploys", { artifact: p.artifact({ version: "v1" }) }, () => {});
    await waitFor("v-latest stable in staging", async () => (await stagingLatest()).state === "stable", 60_000);
    await p.api.stream("/v1/services/web/promote", { initial: true }, () => {});
    for (const [name, scopes] of Object.entries({
      agent: ["read", "deploy:staging", "promote:production", "approve"],
      reader: ["read"],
      alice: ["approve"],
      flood: ["read"],
    })) {
      secrets[name] = (await p.engine.tokens.create({ name, scopes })).token;
    }
  });
  after(async () => {
    for (const client of clients) await client.close().catch(() => {});
    await api?.close();
    await p?.cleanup();
  });

  it("lists every tool, with annotations set truthfully and no passthrough tool", async () => {
    const client = await connect(secrets.reader!);
    const listed = (await client.listTools()).tools;
    assert.deepEqual(listed.map((t) => t.name).sort(), tools.map((t) => t.name).sort());
    for (const tool of listed) {
      assert.equal(tool.annotations?.openWorldHint, false, tool.name);
      const declared = tools.find((t) => t.name === tool.name)!;
      assert.equal(tool.annotations?.readOnlyHint, declared.annotations.readOnlyHint, tool.name);
      if (tool.annotations?.readOnlyHint) assert.equal(tool.annotations.destructiveHint, false, tool.name);
    }
    for (const name of ["status", "releases", "logs", "events", "plan", "checks", "slos", "alerts", "incidents", "report"]) {
      assert.equal(listed.find((t) => t.name === name)?.annotations?.readOnlyHint, true, name);
    }
    for (const name of ["deploy", "promote", "rollback", "abort", "apply", "approve"]) assert.equal(listed.find((t) => t.name === name)?.annotations?.destructiveHint, true, name);
    assert.deepEqual(listed.filter((t) => /shell|exec|sql|file|command/i.test(t.name)), []);
    const resources = (await client.listResources()).resources.map((r) => r.uri).sort();
    assert.deepEqual(resources, ["engineroom://events", "engineroom://status"]);
    const content = (await client.readResource({ uri: "engineroom://status" })).contents[0] as { text: string };
    const status = JSON.parse(content.text);
    assert.deepEqual(status.environments.map((e: { name: string }) => e.name), ["staging", "production"]);
  });

  it("a wrong token is refused before any tool runs", async () => {
    const client = new Client({ name: "intruder", version: "1" });
    const transport = new StreamableHTTPClientTransport(new URL(`http://${address}/mcp`), { requestInit: { headers: { authorization: "Bearer ert_wrong" } } });
    await assert.rejects(client.connect(transport), /401|API_UNAUTHORIZED/);
    await client.close().catch(() => {});
  });

  it("/mcp refuses a forged Host (DNS rebinding) and a foreign Origin before any token is looked at", async () => {
    const post = (headers: Record<string, string>) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const [host, port] = address.split(":");
        const req = httpRequest({ host, port: Number(port), method: "POST", path: "/mcp", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${secrets.reader}`, ...headers } }, (res) => {
          let body = "";
          res.on("data", (c) => (body += c));
          res.on("end", () => resolve({ status: res.statusCode!, body }));
        });
        req.on("error", reject);
        req.end(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }));
      });
    const rebinding = await post({ host: `evil.example:${address.split(":")[1]}` });
    assert.equal(JSON.parse(rebinding.body).error.code, "HOST_REJECTED");
    const foreign = await post({ origin: "http://evil.example" });
    assert.equal(JSON.parse(foreign.body).error.code, "ORIGIN_REJECTED");
    const own = await post({});
    assert.equal(own.status, 200, own.body);
  });

  it("a read-only token reads, and every change is refused with ACCESS_DENIED and its hint, audited as refused", async () => {
    const client = await connect(secrets.reader!);
    assert.ok((await call(client, "status")).ok);
    assert.ok((await call(client, "releases", { service: "web" })).value.releases.length >= 1);
    for (const [tool, args] of [
      ["deploy", { service: "web" }],
      ["rollback", { service: "web", env: "production" }],
      ["promote", { service: "web" }],
      ["approve", { id: "rel_x" }],
    ] as const) {
      const answer = await call(client, tool, args);
      assert.equal(answer.ok, false, tool);
      assert.equal(answer.error?.code, "ACCESS_DENIED", tool);
      assert.match(answer.error!.hint, /engineroom tokens create/);
    }
    const audited = await p.engine.audit.list({ token: "reader", limit: 1000 });
    const deploy = audited.find((e) => e.action === "deploy");
    assert.equal(deploy?.decision, "refused");
    assert.equal(deploy?.via, "mcp");
    assert.match(String(deploy?.reason), /ACCESS_DENIED/);
    assert.equal(audited.find((e) => e.action === "status")?.decision, "allowed");
    // The secret of the token never reaches the audit trail or the events.
    const events = JSON.stringify(await p.engine.store.events.list({ limit: 10_000 }));
    for (const secret of Object.values(secrets)) assert.ok(!events.includes(secret));
  });

  it("a production promote by an agent: APPROVAL_REQUIRED → not by itself (APPROVAL_SELF) → granted by a person → staging before production holds → live; a changed source is APPROVAL_STALE", async () => {
    const agent = await connect(secrets.agent!);
    // No path is read on the agent's word: a deploy names a stored build by its digest.
    const byPath = (await agent.callTool({ name: "deploy", arguments: { service: "web", artifact: "/etc" } }).catch((e: Error) => ({ isError: true, content: [{ type: "text", text: e.message }] }))) as { isError?: boolean; content: { text: string }[] };
    assert.equal(byPath.isError, true);
    assert.match(byPath.content[0]!.text, /artifact digest/);
    const deployed = await call(agent, "deploy", { service: "web", artifact: await stored({ version: "v2" }) });
    assert.ok(deployed.ok, JSON.stringify(deployed.error));
    assert.equal(deployed.value.release.environment, "staging");

    const asked = await call(agent, "promote", { service: "web" });
    assert.equal(asked.error?.code, "APPROVAL_REQUIRED");
    const id = String(asked.error!.details!.approval);
    assert.match(asked.error!.hint, new RegExp(`engineroom approvals grant ${id}`));
    const pending = (await call(agent, "approvals")).value.approvals as ApprovalRequest[];
    assert.equal(pending.find((a) => a.id === id)?.requestedBy.name, "agent");

    const self = await call(agent, "approve", { id });
    assert.equal(self.error?.code, "APPROVAL_SELF");

    const alice = new ApiClient({ address, token: secrets.alice! });
    const granted = await alice.post<{ approval: ApprovalRequest }>(`/v1/approvals/${id}/grant`, {});
    assert.equal(granted.approval.status, "granted");
    assert.equal(granted.approval.decidedBy?.name, "alice");

    // Approved, but v2 is still in its watch window in staging: the staging-before-production rule holds for agents too.
    if ((await stagingLatest()).state !== "stable") {
      const early = await call(agent, "promote", { service: "web" });
      assert.equal(early.ok, false);
      assert.match(String(early.error?.code), /PROMOTE_NOT_STABLE|PROMOTE_NO_SOURCE/);
    }
    await waitFor("v-latest stable in staging", async () => (await stagingLatest()).state === "stable", 60_000);
    const promoted = await call(agent, "promote", { service: "web" });
    assert.ok(promoted.ok, JSON.stringify(promoted.error));
    assert.equal(promoted.value.release.environment, "production");
    assert.equal((await alice.get<ApprovalRequest>(`/v1/approvals/${id}`)).status, "used");

    // A new request, granted; then what would be promoted changes (a newer release in staging): stale.
    await call(agent, "deploy", { service: "web", artifact: await stored({ version: "v3" }) });
    const second = await call(agent, "promote", { service: "web" });
    assert.equal(second.error?.code, "APPROVAL_REQUIRED");
    await alice.post(`/v1/approvals/${String(second.error!.details!.approval)}/grant`, {});
    await p.api.stream("/v1/services/web/deploys", { artifact: p.artifact({ version: "v4" }) }, () => {});
    const stale = await call(agent, "promote", { service: "web" });
    assert.equal(stale.error?.code, "APPROVAL_STALE");
    assert.notEqual(stale.error!.details!.approval, second.error!.details!.approval);
  });

  it("an apply touching production by an agent: plan → APPROVAL_REQUIRED bound to the plan hash → granted by a person → applied once; a changed plan is APPROVAL_STALE", async () => {
    const applier = (await p.engine.tokens.create({ name: "applier", scopes: ["read", "apply:*"] })).token;
    const agent = await connect(applier);
    const alice = new ApiClient({ address, token: secrets.alice! });
    writeFileSync(p.configFile, readFileSync(p.configFile, "utf8").replace("  production:\n    {}\n", "  production:\n    services:\n      web: { instances: 1 }\n"));
    const planned = (await call(agent, "plan")).value.plan as { hash: string; changes: { environment: string; action: string }[] };
    assert.ok(planned.changes.some((c) => c.environment === "production" && c.action === "update"), JSON.stringify(planned.changes));

    const asked = await call(agent, "apply", { plan: planned });
    assert.equal(asked.error?.code, "APPROVAL_REQUIRED", JSON.stringify(asked.error));
    assert.equal(asked.error!.details!.hash, planned.hash);
    const id = String(asked.error!.details!.approval);
    const request = await alice.get<ApprovalRequest>(`/v1/approvals/${id}`);
    assert.deepEqual([request.action, request.hash, request.scope, request.requestedBy.name], ["apply", planned.hash, "apply:production", "applier"]);

    await alice.post(`/v1/approvals/${id}/grant`, {});
    const applied = await call(agent, "apply", { plan: planned });
    assert.ok(applied.ok, JSON.stringify(applied.error));
    assert.equal((await alice.get<ApprovalRequest>(`/v1/approvals/${id}`)).status, "used");

    // The next change to production needs its own approval; granted, then the file changes again: stale.
    writeFileSync(p.configFile, readFileSync(p.configFile, "utf8").replace("      web: { instances: 1 }\n", "      web: { instances: 2 }\n"));
    const next = await call(agent, "apply", {});
    assert.equal(next.error?.code, "APPROVAL_REQUIRED");
    // Listed and granted by a person through the CLI (the owner's admin token: another token than the agent's).
    const nextId = String(next.error!.details!.approval);
    const listed = await run(p.dir, ["approvals", "--json"]);
    assert.equal(listed.code, 0, listed.out);
    assert.ok((JSON.parse(listed.out) as { approvals: ApprovalRequest[] }).approvals.some((a) => a.id === nextId && a.status === "pending"));
    const table = await run(p.dir, ["approvals"]);
    assert.match(table.out, new RegExp(`${nextId}.*pending.*apply 1 change\\(s\\) to production.*applier`));
    const grant = await run(p.dir, ["approvals", "grant", nextId]);
    assert.equal(grant.code, 0, grant.out);
    assert.match(grant.out, /granted/);
    writeFileSync(p.configFile, readFileSync(p.configFile, "utf8").replace("      web: { instances: 2 }\n", "      web: { instances: 2, env: { GREETING: hello } }\n"));
    const stale = await call(agent, "apply", {});
    assert.equal(stale.error?.code, "APPROVAL_STALE", JSON.stringify(stale.error));
    // Put the file back as it was: the rest of the suite runs on it.
    writeFileSync(p.configFile, readFileSync(p.configFile, "utf8").replace("  production:\n    services:\n      web: { instances: 2, env: { GREETING: hello } }\n", "  production:\n    {}\n"));
  });

  it("the rate limit of a token refuses with RATE_LIMITED, never a hang", async () => {
    const client = await connect(secrets.flood!);
    let refused: Answer | undefined;
    for (let i = 0; i < 300 && !refused; i++) {
      const answer = await call(client, "alerts");
      if (!answer.ok) refused = answer;
    }
    assert.equal(refused?.error?.code, "RATE_LIMITED");
  });

  it("stdio: `engineroom mcp` with ENGINEROOM_TOKEN relays to the engine; without a token it is read-only", async () => {
    const spawnClient = async (env: Record<string, string>) => {
      const client = new Client({ name: "stdio-agent", version: "1" });
      const transport = new StdioClientTransport({ command: process.execPath, args: [...cliArgs(), "mcp", "--config", p.configFile], cwd: root, env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", ...env }, stderr: "ignore" });
      await client.connect(transport);
      clients.push(client);
      return client;
    };
    const agent = await spawnClient({ ENGINEROOM_TOKEN: secrets.agent! });
    assert.ok((await agent.listTools()).tools.some((t) => t.name === "rollback"));
    const releases = await call(agent, "releases", { service: "web", env: "production" });
    assert.ok(releases.ok);
    assert.equal(releases.value.releases[0].environment, "production");
    assert.equal((await call(agent, "rollback", { service: "web", env: "production" })).error?.code, "ACCESS_DENIED");

    const local = await spawnClient({});
    assert.ok((await call(local, "status")).ok);
    const refused = await call(local, "rollback", { service: "web", env: "staging" });
    assert.equal(refused.error?.code, "ACCESS_DENIED");
    assert.match(refused.error!.message, /has read/);
    await agent.close();
    await local.close();
  });

  it("stdio to an engine that serves HTTPS: the relay trusts engine.json's certificate", async () => {
    const pems = await selfsigned.generate([{ name: "commonName", value: "localhost" }], {
      keySize: 2048,
      algorithm: "sha256",
      extensions: [{ name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }, { type: 7, ip: "127.0.0.1" }] }],
    });
    const tls = createApi({ engine: p.engine, token: p.token, https: { cert: pems.cert, key: pems.private } });
    await tls.listen({ host: "127.0.0.1", port: 0 });
    const infoFile = join(p.engine.project.stateDir, "engine.json");
    const plain = readFileSync(infoFile, "utf8");
    try {
      p.engine.files.writeEngineInfo({ ...JSON.parse(plain), api: `127.0.0.1:${(tls.server.address() as { port: number }).port}`, tls: { cert: pems.cert } });
      const client = new Client({ name: "tls-agent", version: "1" });
      const transport = new StdioClientTransport({ command: process.execPath, args: [...cliArgs(), "mcp", "--config", p.configFile], cwd: root, env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", ENGINEROOM_TOKEN: secrets.reader! }, stderr: "ignore" });
      await client.connect(transport);
      clients.push(client);
      const status = await call(client, "status");
      assert.ok(status.ok, JSON.stringify(status.error));
      assert.equal(status.value.environments.length, 2);
      await client.close();
    } finally {
      writeFileSync(infoFile, plain);
      await tls.close();
    }
  });

  it("an incident played as an agent: a faulty release is seen, the incident acknowledged, a runbook dry-run then run (rollback scope only), resolved, the post-mortem read", async () => {
    // The responder holds only rollback in staging: no deploy, no approval needed for what follows.
    const responder = (await p.engine.tokens.create({ name: "oncall", scopes: ["read", "rollback:staging"] })).token;
    const agent = await connect(responder);
    const deployer = await connect(secrets.agent!);
    const staging = `http://${(await p.api.get<{ environments: { name: string; proxy: string }[] }>("/v1/status")).environments[0]!.proxy}`;
    const faulty = await call(deployer, "deploy", { service: "web", artifact: await stored({ version: "v5", failFile: failFile() }) });
    assert.ok(faulty.ok, JSON.stringify(faulty.error));
    writeFileSync(failFile(), "down");
    try {
      assert.equal((await get(staging + "/")).status, 503);
      const seen = (await call(agent, "releases", { service: "web", env: "staging" })).value.releases[0];
      assert.equal(seen.id, faulty.value.release.id);

      const open = (await call(agent, "incidents")).value.incidents as { id: string; services: string[] }[];
      const incident = open.find((i) => i.services.includes("web")) ?? (await call(agent, "open_incident", { title: "web answers 503 in staging", service: "web", env: "staging", severity: "SEV2" })).value;
      assert.ok(incident.id, JSON.stringify(incident));
      const acked = await call(agent, "ack_incident", { id: incident.id });
      assert.ok(acked.ok, JSON.stringify(acked.error));

      // The runbook, dry run first: it says what it would do and changes nothing.
      const dry = await call(agent, "run_runbook", { name: "revert-web", dry_run: true });
      assert.ok(dry.ok, JSON.stringify(dry.error));
      assert.match(JSON.stringify(dry.value), /rollback/);
      assert.equal((await get(staging + "/")).status, 503);
      // A token without rollback in staging may dry-run it but not run it.
      const reader = await connect(secrets.reader!);
      assert.ok((await call(reader, "run_runbook", { name: "revert-web", dry_run: true })).ok);
      assert.equal((await call(reader, "run_runbook", { name: "revert-web" })).error?.code, "ACCESS_DENIED");
      const ran = await call(agent, "run_runbook", { name: "revert-web", incident: incident.id });
      assert.ok(ran.ok, JSON.stringify(ran.error));
      await waitFor("the runbook run ends", async () => !["running", "pending"].includes((await call(agent, "runbook_run", { id: ran.value.id })).value.state), 60_000);
      assert.equal((await get(staging + "/")).status, 200);
      for (const status of ["investigating", "mitigated"]) {
        const moved = await call(agent, "update_incident", { id: incident.id, status, note: status === "mitigated" ? "rolled back v5" : "v5 answers 503" });
        assert.ok(moved.ok, JSON.stringify(moved.error));
      }
      const resolved = await call(agent, "resolve_incident", { id: incident.id, note: "v5 reverted" });
      assert.ok(resolved.ok, JSON.stringify(resolved.error));
      assert.equal(resolved.value.state, "resolved");

      const view = (await call(agent, "incident", { id: incident.id })).value;
      const timeline = JSON.stringify(view.timeline);
      assert.match(timeline, /roll/);
      assert.match(timeline, /resolved/);

      // An emergency rollback in production needs only rollback:production — no approval, unlike a promote there.
      const emergency = await connect((await p.engine.tokens.create({ name: "oncall-prod", scopes: ["read", "rollback:production"] })).token);
      assert.equal((await call(emergency, "promote", { service: "web" })).error?.code, "ACCESS_DENIED");
      const back = await call(emergency, "rollback", { service: "web", env: "production" });
      assert.ok(back.ok, JSON.stringify(back.error));
      assert.equal(back.value.to.environment, "production");

      // The post-mortem drafted on resolve (SEV2), read as the agent would.
      let postmortem: Answer | undefined;
      await waitFor("the post-mortem draft", async () => (postmortem = await call(agent, "postmortem", { incident: incident.id })).ok, 30_000);
      assert.match(JSON.stringify(postmortem!.value), new RegExp(incident.id));
    } finally {
      rmSync(failFile(), { force: true });
    }
  });
});

describe("MCP server: a promote by an agent into an environment that requires approval waits for someone else", () => {
  let p: TestProject;
  let api: FastifyInstance;
  let address: string;
  const clients: Client[] = [];

  before(async () => {
    p = await startProject(config.replace("  production:\n    {}\n", "  production:\n    require_approval: true\n"));
    api = createApi({ engine: p.engine, token: p.token });
    await api.listen({ host: "127.0.0.1", port: 0 });
    address = `127.0.0.1:${(api.server.address() as { port: number }).port}`;
  });
  after(async () => {
    for (const client of clients) await client.close().catch(() => {});
    await api?.close();
    await p?.cleanup();
  });

  it("the verified release is listed with its requester, not approved by the agent's token (APPROVAL_SELF), switched when a person grants it", async () => {
    const releases = async (env: string) => (await p.api.get<{ releases: Release[] }>(`/v1/services/web/releases?env=${env}`)).releases;
    await p.api.stream("/v1/services/web/deploys", { artifact: p.artifact({ version: "v1" }) }, () => {});
    await waitFor("v1 stable in staging", async () => (await releases("staging"))[0]!.state === "stable", 60_000);
    const { token } = await p.engine.tokens.create({ name: "agent", scopes: ["read", "promote:production", "approve"] });
    const { token: person } = await p.engine.tokens.create({ name: "bob", scopes: ["approve"] });
    const agent = new Client({ name: "agent", version: "1" });
    await agent.connect(new StreamableHTTPClientTransport(new URL(`http://${address}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    clients.push(agent);

    // require_approval keeps its own wait: the release is started and verified, and waits (no plan approval first).
    const promoted = await call(agent, "promote", { service: "web", initial: true });
    assert.ok(promoted.ok, JSON.stringify(promoted.error));
    assert.equal(promoted.value.awaitingApproval, true);
    const releaseId = promoted.value.release.id as string;
    const queue = (await call(agent, "approvals")).value.approvals as ApprovalRequest[];
    const request = queue.find((a) => a.releaseId === releaseId);
    assert.equal(request?.kind, "release");
    assert.equal(request?.requestedBy.name, "agent");

    for (const id of [request!.id, releaseId]) assert.equal((await call(agent, "approve", { id })).error?.code, "APPROVAL_SELF", id);
    assert.equal((await releases("production"))[0]!.state, "verified", "no traffic before a person approves");

    const granted = await new ApiClient({ address, token: person }).post<{ approval: ApprovalRequest; release: { release: Release } }>(`/v1/approvals/${releaseId}/grant`, {});
    assert.equal(granted.release.release.id, releaseId);
    assert.match(granted.release.release.state, /watching|live|stable/);
    assert.equal(granted.approval.decidedBy?.name, "bob");
  });
});

describe("MCP server: a build from CI uploaded through upload_artifact, deployed by digest", () => {
  let p: TestProject;
  let api: FastifyInstance;
  let keys: string;
  const clients: Client[] = [];

  before(async () => {
    keys = mkdtempSync(join(tmpdir(), "engineroom-mcp-keys-"));
    const { publicKey } = generateCiKey(join(keys, "ci.key"));
    p = await startProject(testConfig("", `ci:\n  trusted_keys:\n    - name: github\n      key: ${publicKey}\n`) + "environments:\n  staging: {}\n  production: {}\n");
    api = createApi({ engine: p.engine, token: p.token });
    await api.listen({ host: "127.0.0.1", port: 0 });
  });
  after(async () => {
    for (const client of clients) await client.close().catch(() => {});
    await api?.close();
    await p?.cleanup();
    rmSync(keys, { recursive: true, force: true });
  });

  it("keeps a signed build (and refuses an unsigned one), then deploys it by digest", async () => {
    const folder = p.artifact({ version: "v1" });
    const file = join(keys, "build.tgz");
    await tar.c({ gzip: true, file, cwd: folder, portable: true }, ["."]);
    const body = readFileSync(file);
    const statement: UploadStatement = {
      format: "engineroom-upload-v1",
      digest: await digestFolder(folder),
      archive: { sha256: createHash("sha256").update(body).digest("hex"), sizeBytes: body.length },
      provenance: { commit: "c0ffee".padEnd(40, "0"), commitTime: 1_700_000_000_000, branch: "main", runUrl: "https://ci.example/runs/7", tests: null },
    };
    const { token } = await p.engine.tokens.create({ name: "ci", scopes: ["read", "deploy:staging"] });
    const ci = new Client({ name: "ci-agent", version: "1" });
    const port = (api.server.address() as { port: number }).port;
    await ci.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    clients.push(ci);
    const args = { archive_base64: body.toString("base64"), statement: encodeStatement(statement), signature: signValue(readCiKey(join(keys, "ci.key")), statement) };

    const unsigned = await call(ci, "upload_artifact", { ...args, signature: signValue(readCiKey(join(keys, "ci.key")), { ...statement, digest: "sha256:" + "0".repeat(64) }) });
    assert.equal(unsigned.error?.code, "ARTIFACT_UNTRUSTED");
    const uploaded = await call(ci, "upload_artifact", args);
    assert.ok(uploaded.ok, JSON.stringify(uploaded.error));
    assert.equal(uploaded.value.digest, statement.digest);
    const deployed = await call(ci, "deploy", { service: "web", artifact: statement.digest });
    assert.ok(deployed.ok, JSON.stringify(deployed.error));
    assert.equal(deployed.value.release.artifactDigest, statement.digest);
  });
});
