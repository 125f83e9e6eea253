import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import selfsigned from "selfsigned";
import { loadProject } from "../../src/config/index.js";
import { EngineError } from "../../src/core/index.js";
import { apiListen } from "../../src/engine/index.js";
import { CliProject, cliArgs } from "../helpers/cli.js";
import { rawRequest } from "../helpers/http.js";
import { testConfig } from "../helpers/project.js";
import { waitFor } from "../helpers/wait.js";

/** Runs one CLI command in `cwd` with extra environment variables. */
function runWith(cwd: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [...cliArgs(), ...args], { cwd, env: { ...process.env, NO_COLOR: "1", ...env } });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    child.on("close", (code) => done({ code, out }));
  });
}

const withApi = (lines: string) => testConfig().replace("    instances: 2", "    artifact: ./app\n    instances: 2").replace("api:\n  listen: 127.0.0.1:0", `api:\n${lines}`);

/**
 * `engineroom up` with api.tls on 127.0.0.1 (forced TLS with a self-signed certificate): it serves
 * HTTPS and says so, the CLI talks to it over TLS, and tokens, scopes, ENGINEROOM_TOKEN and the
 * audit trail work end to end through the CLI.
 */
describe("CLI: tokens, ENGINEROOM_TOKEN and audit over an HTTPS API", () => {
  let project: CliProject;
  let cert: string;
  let upOutput = "";

  before(async () => {
    project = new CliProject(withApi("  listen: 127.0.0.1:0\n  tls:\n    cert_file: tls/cert.pem\n    key_file: tls/key.pem"));
    const pems = await selfsigned.generate([{ name: "commonName", value: "localhost" }], {
      keySize: 2048,
      algorithm: "sha256",
      extensions: [{ name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }, { type: 7, ip: "127.0.0.1" }] }],
    });
    cert = pems.cert;
    mkdirSync(join(project.dir, "tls"));
    writeFileSync(join(project.dir, "tls/cert.pem"), pems.cert);
    writeFileSync(join(project.dir, "tls/key.pem"), pems.private, { mode: 0o600 });
    const child = spawn(process.execPath, [...cliArgs(), "up"], { cwd: project.dir, env: { ...process.env, NO_COLOR: "1" } });
    project.engine = child;
    child.stderr.on("data", (c) => (upOutput += c));
    child.stdout.on("data", (c) => (upOutput += c));
    await waitFor("engine up", () => project.info()?.pid === child.pid && upOutput.includes("engine up"), 60_000);
  });
  after(async () => {
    const left = await project?.cleanup();
    assert.deepEqual(left ?? [], []);
  });

  it("serves HTTPS only, and says so at start", async () => {
    const api = project.info()!.api;
    assert.match(upOutput, new RegExp(`api https://${api.replace(/[.[\]]/g, "\\$&")} \\(TLS, certificate .*cert\\.pem\\)`));
    const health = await rawRequest(`https://${api}/v1/health`, { ca: cert });
    assert.equal(health.status, 200);
    await assert.rejects(rawRequest(`http://${api}/v1/health`), "plain HTTP gets no answer");
    const status = await project.run(["status", "--json"]);
    assert.equal(status.code, 0, status.out);
  });

  it("creates tokens shown once, refuses what a token's scopes do not grant, audits it, revokes", async () => {
    const bad = await project.run(["tokens", "create", "--name", "x", "--scope", "write"]);
    assert.equal(bad.code, 2, bad.out);
    assert.match(bad.out, /TOKEN_SCOPE_INVALID/);

    const created = await project.run(["tokens", "create", "--name", "agent", "--scope", "read", "--expires", "30d"]);
    assert.equal(created.code, 0, created.out);
    const secret = /ert_[A-Za-z0-9_-]{43}/.exec(created.out)?.[0];
    assert.ok(secret, created.out);

    const asAgent = (args: string[]) => runWith(project.dir, args, { ENGINEROOM_TOKEN: secret! });
    assert.equal((await asAgent(["status"])).code, 0);

    // From elsewhere (as a CI job): ENGINEROOM_API_URL over https, trusting the engine's certificate by ENGINEROOM_API_CA.
    const elsewhere = mkdtempSync(join(tmpdir(), "engineroom-remote-"));
    try {
      const remote = { ENGINEROOM_API_URL: `https://${project.info()!.api}`, ENGINEROOM_TOKEN: secret! };
      const trusted = await runWith(elsewhere, ["status", "--json"], { ...remote, ENGINEROOM_API_CA: join(project.dir, "tls/cert.pem") });
      assert.equal(trusted.code, 0, trusted.out);
      assert.equal(JSON.parse(trusted.out).project, JSON.parse((await project.run(["status", "--json"])).out).project);
      const untrusted = await runWith(elsewhere, ["status"], remote);
      assert.notEqual(untrusted.code, 0, "a self-signed certificate is not trusted without ENGINEROOM_API_CA");
      assert.match((await runWith(elsewhere, ["status"], { ...remote, ENGINEROOM_API_URL: "ftp://x:1" })).out, /not http\(s\):\/\/host:port/);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
    const refused = await asAgent(["rollback", "web"]);
    assert.equal(refused.code, 1, refused.out);
    assert.match(refused.out, /ACCESS_DENIED.*"agent".*rollback:production/);
    assert.match(refused.out, /tokens create/);
    assert.match((await asAgent(["tokens", "list"])).out, /ACCESS_DENIED/);

    const list = await project.run(["tokens", "list", "--json"]);
    assert.equal(list.code, 0, list.out);
    const [token] = JSON.parse(list.out).tokens;
    assert.equal(token.name, "agent");
    assert.deepEqual(token.scopes, ["read"]);
    assert.ok(token.lastUsedAt > 0 && token.expiresAt > Date.now());
    assert.ok(!list.out.includes(secret!) && !list.out.includes("sha256"));
    assert.match((await project.run(["tokens"])).out, /agent\s+tok_\S+\s+read\s/);

    const audit = await project.run(["audit", "--json", "--token", "agent"]);
    assert.equal(audit.code, 0, audit.out);
    const entries = JSON.parse(audit.out).entries as Array<{ action: string; decision: string; via: string }>;
    assert.ok(entries.some((e) => e.action === "POST /v1/services/:service/rollback" && e.decision === "refused" && e.via === "cli"), audit.out);
    assert.ok(!audit.out.includes(secret!));
    assert.match((await project.run(["audit", "--since", "1h"])).out, /agent\s+cli\s+POST \/v1\/services\/:service\/rollback\s+refused/);

    const revoked = await project.run(["tokens", "revoke", "agent"]);
    assert.equal(revoked.code, 0, revoked.out);
    const after = await asAgent(["status"]);
    assert.equal(after.code, 2, after.out);
    assert.match(after.out, /API_UNAUTHORIZED/);
    assert.match((await project.run(["tokens", "revoke", "nobody"])).out, /TOKEN_NOT_FOUND/);
  });
});

describe("API listen beyond loopback", () => {
  it("is refused without api.tls (API_TLS_REQUIRED) before anything starts, and loopback is not", async () => {
    const project = new CliProject(withApi("  listen: 0.0.0.0:0"));
    try {
      const up = await project.run(["up"]);
      assert.equal(up.code, 2, up.out);
      assert.match(up.out, /API_TLS_REQUIRED/);
      assert.match(up.out, /api\.tls\.cert_file/);
      assert.equal(project.info(), undefined, "no engine started");
      assert.throws(() => apiListen(loadProject(join(project.dir, "engineroom.yaml"))), (e: unknown) => e instanceof EngineError && e.code === "API_TLS_REQUIRED");
      writeFileSync(join(project.dir, "engineroom.yaml"), withApi("  listen: '[::1]:0'"));
      assert.deepEqual(apiListen(loadProject(join(project.dir, "engineroom.yaml"))), { host: "::1", port: 0 });
      writeFileSync(join(project.dir, "engineroom.yaml"), withApi("  listen: 10.1.2.3:7070\n  tls: { cert_file: missing.pem, key_file: missing.key }"));
      assert.throws(() => apiListen(loadProject(join(project.dir, "engineroom.yaml"))), /api\.tls\.cert_file: cannot read .*missing\.pem \(ENOENT\)/);
    } finally {
      await project.cleanup();
    }
  });
});
