import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as tar from "tar";
import { NoOperationTraceWriter, parseWorkflow } from "@actions/workflow-parser";
import { digestFolder } from "../../src/artifact/index.js";
import { encodeStatement, generateCiKey, readCiKey, signatureHeader, signValue, statementHeader, type UploadStatement } from "../../src/ci/index.js";
import type { ReleaseWithProvenance } from "../../src/engine/index.js";
import { run } from "../helpers/cli.js";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";

const maxUploadBytes = 64 * 1024;

/** An answer of POST /v1/artifacts, read even when the engine refuses before the whole body is sent. */
function upload(p: TestProject, body: Buffer, headers: Record<string, string>, options: { chunked?: boolean; token?: string } = {}): Promise<{ status: number; json: { error?: { code: string; message: string }; digest?: string } }> {
  const [host, port] = p.apiAddress.split(":");
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(
      {
        host,
        port: Number(port),
        method: "POST",
        path: "/v1/artifacts",
        headers: { authorization: `Bearer ${options.token ?? p.token}`, "content-type": "application/gzip", ...(options.chunked ? {} : { "content-length": body.length }), ...headers },
      },
      (res) => {
        answered = true;
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
      },
    );
    req.on("error", (error) => answered || reject(error));
    if (options.chunked) {
      // In pieces, without a length: the cap must hold while it streams.
      for (let at = 0; at < body.length; at += 16 * 1024) req.write(body.subarray(at, at + 16 * 1024));
      req.end();
    } else req.end(body);
  });
}

describe("builds from CI: signed uploads, deploy by digest, provenance", () => {
  let p: TestProject;
  let keys: string;
  let keyFile: string;
  let otherKeyFile: string;
  let scratch: string;

  /** The .tgz of a folder, its tree digest, and a statement for it signed by `signer`. */
  async function signedUpload(folder: string, signer = keyFile, change: (s: UploadStatement) => void = () => {}) {
    const file = join(scratch, `build-${randomBytes(4).toString("hex")}.tgz`);
    await tar.c({ gzip: true, file, cwd: folder, portable: true }, ["."]);
    const body = readFileSync(file);
    const statement: UploadStatement = {
      format: "engineroom-upload-v1",
      digest: await digestFolder(folder),
      archive: { sha256: createHash("sha256").update(body).digest("hex"), sizeBytes: body.length },
      provenance: { commit: "c0ffee".padEnd(40, "0"), commitTime: 1_700_000_000_000, branch: "main", runUrl: "https://ci.example/runs/7", tests: null },
    };
    change(statement);
    const headers = { [statementHeader]: encodeStatement(statement), [signatureHeader]: signValue(readCiKey(signer), statement) };
    return { body, statement, headers };
  }

  /** What the engine keeps: stored artifacts, and anything left in the upload folder. */
  const kept = async () => ({
    artifacts: await p.engine.artifacts.list(),
    uploads: readdirSync(join(p.dir, ".engineroom"), { withFileTypes: true }).some((e) => e.name === "uploads") ? readdirSync(join(p.dir, ".engineroom", "uploads")) : [],
    events: (await p.engine.store.events.list({ types: ["artifact.uploaded"] })).length,
  });

  before(async () => {
    keys = mkdtempSync(join(tmpdir(), "engineroom-ci-keys-"));
    scratch = mkdtempSync(join(tmpdir(), "engineroom-ci-builds-"));
    keyFile = join(keys, "ci.key");
    otherKeyFile = join(keys, "other.key");
    const { publicKey } = generateCiKey(keyFile);
    generateCiKey(otherKeyFile);
    const top = `ci:\n  trusted_keys:\n    - name: github\n      key: ${publicKey}\nartifacts:\n  max_upload_bytes: ${maxUploadBytes}\n`;
    p = await startProject(testConfig("", top).concat("environments:\n  staging: {}\n  production: {}\n"));
  });

  after(async () => {
    await p?.cleanup();
    rmSync(keys, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  it("ci upload signs and sends a build with its provenance; deploy --artifact releases it; releases show where it came from", async () => {
    const folder = p.artifact({ version: "v1" });
    const reports = join(scratch, "junit.xml");
    writeFileSync(reports, `<testsuites><testcase name="a" time="0.5"/><testcase name="b" time="0.25"><failure message="x"/></testcase><testcase name="c" time="0"><skipped/></testcase></testsuites>`);
    const uploaded = await run(p.dir, ["ci", "upload", folder, "--key", keyFile, "--commit", "ab12".padEnd(40, "9"), "--commit-time", "2026-01-02T03:04:05Z", "--branch", "main", "--run-url", "https://github.com/acme/web/actions/runs/42", "--tests", reports, "--json"]);
    assert.equal(uploaded.code, 0, uploaded.out);
    const accepted = JSON.parse(uploaded.out) as { digest: string; existed: boolean; provenance: Record<string, unknown> };
    assert.equal(accepted.digest, await digestFolder(folder));
    assert.equal(accepted.existed, false);
    assert.deepEqual(accepted.provenance.tests, { tests: 3, failures: 1, errors: 0, skipped: 1, timeMs: 750 });
    assert.equal(accepted.provenance.signedBy, "github");

    const deployed = await run(p.dir, ["deploy", "web", "--artifact", accepted.digest, "--json"]);
    assert.equal(deployed.code, 0, deployed.out);
    assert.equal(JSON.parse(deployed.out).release.artifactDigest, accepted.digest);
    const served = await fetch(p.proxyUrl);
    assert.equal(served.headers.get("x-version"), "v1");
    await served.arrayBuffer();

    const listed = await run(p.dir, ["releases", "web", "--json"]);
    const [release] = JSON.parse(listed.out) as ReleaseWithProvenance[];
    assert.equal(release!.provenance?.commit, "ab12".padEnd(40, "9"));
    assert.equal(release!.provenance?.runUrl, "https://github.com/acme/web/actions/runs/42");
    assert.equal(release!.provenance?.branch, "main");
    const table = await run(p.dir, ["releases", "web"]);
    assert.match(table.out, /ab1299999999 main/);
    // The commit time feeds lead time for changes: it is the release's commit in release.pending.
    const [pending] = await p.engine.store.events.list({ types: ["release.pending"], releaseId: release!.id });
    assert.deepEqual(pending!.data.commit, { sha: "ab12".padEnd(40, "9"), time: Date.parse("2026-01-02T03:04:05Z") });
    assert.equal((pending!.data.provenance as { runUrl?: string }).runUrl, "https://github.com/acme/web/actions/runs/42", "recorded with the release");
    const record = await run(p.dir, ["ci", "upload", folder, "--key", keyFile, "--commit", "ab12".padEnd(40, "9"), "--branch", "main", "--run-url", "https://ci.example/r/1", "--json"]);
    assert.equal(JSON.parse(record.out).existed, true, "the same build again is the same artifact");
  });

  it("refuses unsigned, wrongly signed, altered, too large and mismatched uploads with their codes, and keeps nothing", async () => {
    const folder = p.artifact({ version: "v2" });
    const before = await kept();
    const good = await signedUpload(folder);

    const unsigned = await upload(p, good.body, { [statementHeader]: good.headers[statementHeader]! });
    assert.deepEqual([unsigned.status, unsigned.json.error?.code], [403, "ARTIFACT_UNTRUSTED"]);
    const noStatement = await upload(p, good.body, {});
    assert.deepEqual([noStatement.status, noStatement.json.error?.code], [403, "ARTIFACT_UNTRUSTED"]);

    const wrongKey = await signedUpload(folder, otherKeyFile);
    const byOther = await upload(p, wrongKey.body, wrongKey.headers);
    assert.deepEqual([byOther.status, byOther.json.error?.code], [403, "ARTIFACT_UNTRUSTED"]);

    const forged = { ...good.statement, provenance: { ...good.statement.provenance, branch: "evil" } };
    const restated = await upload(p, good.body, { [statementHeader]: encodeStatement(forged), [signatureHeader]: good.headers[signatureHeader]! });
    assert.deepEqual([restated.status, restated.json.error?.code], [403, "ARTIFACT_UNTRUSTED"], "a statement changed after signing");

    const tampered = Buffer.from(good.body);
    tampered[tampered.length - 10]! ^= 0xff;
    const altered = await upload(p, tampered, good.headers);
    assert.deepEqual([altered.status, altered.json.error?.code], [422, "ARTIFACT_DIGEST_MISMATCH"]);

    const lying = await signedUpload(folder, keyFile, (s) => (s.digest = `sha256:${"0".repeat(64)}`));
    const mismatch = await upload(p, lying.body, lying.headers);
    assert.deepEqual([mismatch.status, mismatch.json.error?.code], [422, "ARTIFACT_DIGEST_MISMATCH"], "a signed digest that is not the tree's");

    const big = p.artifact({ version: "v3" });
    writeFileSync(join(big, "noise.bin"), randomBytes(maxUploadBytes * 2)); // incompressible
    const large = await signedUpload(big);
    const declared = await upload(p, large.body, large.headers);
    assert.deepEqual([declared.status, declared.json.error?.code], [413, "ARTIFACT_TOO_LARGE"]);
    const understated = await signedUpload(big, keyFile, (s) => (s.archive.sizeBytes = 1000));
    const streamed = await upload(p, understated.body, understated.headers, { chunked: true });
    assert.deepEqual([streamed.status, streamed.json.error?.code], [413, "ARTIFACT_TOO_LARGE"], "cut off while it streams, with no length declared");

    const noToken = await upload(p, good.body, good.headers, { token: "wrong" });
    assert.equal(noToken.status, 401);
    assert.deepEqual(await kept(), before, "nothing stored, nothing left in the upload folder, no upload event");

    // The good one still goes through, and is stored.
    const accepted = await upload(p, good.body, good.headers);
    assert.equal(accepted.status, 201, JSON.stringify(accepted.json));
    assert.equal(accepted.json.digest, good.statement.digest);
    assert.ok((await p.engine.artifacts.list()).includes(good.statement.digest));
  });

  it("a promotion carries the provenance into production: its release shows it, and its commit starts lead time there", async () => {
    const promoted = await run(p.dir, ["promote", "web", "--to", "production", "--initial", "--skip-watch", "--json"]);
    assert.equal(promoted.code, 0, promoted.out);
    const listed = await run(p.dir, ["releases", "web", "--env", "production", "--json"]);
    const [release] = JSON.parse(listed.out) as ReleaseWithProvenance[];
    assert.equal(release!.environment, "production");
    assert.equal(release!.provenance?.runUrl, "https://github.com/acme/web/actions/runs/42");
    const [pending] = await p.engine.store.events.list({ types: ["release.pending"], releaseId: release!.id });
    assert.deepEqual(pending!.data.commit, { sha: "ab12".padEnd(40, "9"), time: Date.parse("2026-01-02T03:04:05Z") });
  });

  it("deploy by a digest that is not stored is ARTIFACT_NOT_FOUND, and the live release keeps serving", async () => {
    const missing = await run(p.dir, ["deploy", "web", "--artifact", `sha256:${"e".repeat(64)}`]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.out, /ARTIFACT_NOT_FOUND/);
    const status = await p.api.get<{ environments: { services: { live: { number: number } | null }[] }[] }>("/v1/status");
    assert.equal(status.environments[0]!.services[0]!.live?.number, 1);
  });
});

describe("engineroom ci keygen, plan and github, as CI runs them", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "engineroom-ci-cli-"));
    writeFileSync(join(dir, "engineroom.yaml"), testConfig().concat("environments:\n  staging: {}\n  production: {}\n"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("keygen writes an owner-only key and prints the public key for ci.trusted_keys", async () => {
    const made = await run(dir, ["ci", "keygen", "--out", "ci.key", "--json"]);
    assert.equal(made.code, 0, made.out);
    const { publicKey, privateKeyFile } = JSON.parse(made.out) as { publicKey: string; privateKeyFile: string };
    assert.match(publicKey, /^ed25519:[A-Za-z0-9+/]{43}=$/);
    assert.ok(!made.out.includes("PRIVATE KEY"), "the private key is never printed");
    assert.equal(statSync(privateKeyFile).mode & 0o777, 0o600);
    const again = await run(dir, ["ci", "keygen", "--out", "ci.key"]);
    assert.notEqual(again.code, 0);
    assert.match(again.out, /CI_KEY_INVALID/);
  });

  it("plan balances the recorded timings into shards and prints one shard's files", async () => {
    mkdirSync(join(dir, "reports"));
    mkdirSync(join(dir, "test"));
    const times: Record<string, number> = { "test/a.test.js": 9, "test/b.test.js": 4, "test/c.test.js": 3, "test/d.test.js": 2 };
    for (const [file, seconds] of Object.entries(times)) {
      writeFileSync(join(dir, "reports", file.replaceAll("/", "__") + ".xml"), `<testsuites><testcase name="x" time="${seconds}"/></testsuites>`);
      writeFileSync(join(dir, file), "");
    }
    writeFileSync(join(dir, "test", "new.test.js"), "");
    const planned = await run(dir, ["ci", "plan", "--shards", "2", "--reports", "reports", "--files", "test/*.test.js"]);
    assert.equal(planned.code, 0, planned.out);
    const plan = JSON.parse(planned.out) as { matrix: { shard: number[] }; plan: { files: string[]; loadMs: number }[]; unmeasured: string[]; cacheKey: string };
    assert.deepEqual(plan.matrix, { shard: [1, 2] });
    assert.deepEqual(plan.unmeasured, ["test/new.test.js"]);
    // The new file counts as the median (3 s). LPT: a 9 → 1; b 4 → 2; c 3 → 2 (7); new 3 → 2 (10); d 2 → 1 (11).
    assert.deepEqual(plan.plan.map((s) => s.loadMs), [11_000, 10_000]);
    const second = await run(dir, ["ci", "plan", "--shards", "2", "--reports", "reports", "--files", "test/*.test.js", "--shard", "2"]);
    assert.deepEqual(second.out.trim().split("\n"), plan.plan[1]!.files);
    const none = await run(dir, ["ci", "plan", "--shards", "3", "--reports", "no-reports-yet"]);
    assert.equal(none.code, 0, "a first run has no history");
    const bad = await run(dir, ["ci", "plan", "--shards", "0"]);
    assert.match(bad.out, /CI_PLAN_INVALID/);
  });

  it("github writes a workflow GitHub's parser accepts, deploying to staging and promoting to production", async () => {
    const wrote = await run(dir, ["ci", "github"]);
    assert.equal(wrote.code, 0, wrote.out);
    const file = join(dir, ".github", "workflows", "engineroom.yml");
    const content = readFileSync(file, "utf8");
    const parsed = parseWorkflow({ name: "engineroom.yml", content }, new NoOperationTraceWriter());
    assert.deepEqual(parsed.context.errors.getErrors().map((e) => e.message), []);
    assert.match(content, /engineroom deploy web --artifact/);
    assert.match(content, /engineroom promote web --to production/);
    assert.match(content, /secrets\.ENGINEROOM_CI_KEY/);
    const again = await run(dir, ["ci", "github"]);
    assert.notEqual(again.code, 0, "an existing workflow is not overwritten without --force");
  });
});
