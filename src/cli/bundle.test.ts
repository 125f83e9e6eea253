import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { CliProject, root } from "../../test/helpers/cli.js";

// The bundled CLI (scripts/build-cli.mjs → dist/cli/thin.cjs; bin/engineroom.js runs it for the
// commands that only talk to the engine), built to a folder of its own and run against a real
// engine: the commands work, errors keep their codes and exit codes, and it loads nothing heavy.

// Inside node_modules, so that the bundle finds commander there as it does from dist/cli/.
const out = join(root, "node_modules", ".cache", `engineroom-bundle-test-${process.pid}`);
const bundle = join(out, "cli", "thin.cjs");
let p: CliProject;

function thin(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [bundle, ...args], { cwd: p.dir, env: { ...process.env, NO_COLOR: "1" } });
    let text = "";
    child.stdout.on("data", (c) => (text += c));
    child.stderr.on("data", (c) => (text += c));
    child.on("close", (code) => done({ code, out: text }));
  });
}

describe("the bundled CLI", () => {
  before(async () => {
    mkdirSync(out, { recursive: true });
    const built = spawnSync(process.execPath, [join(root, "scripts/build-cli.mjs"), relative(root, bundle)], { encoding: "utf8" });
    assert.equal(built.status, 0, built.stderr + built.stdout);
    p = new CliProject();
    await p.up();
    const first = await p.run(["deploy", "web", p.artifact({ version: "v1" })]);
    assert.equal(first.code, 0, first.out);
  });
  after(async () => {
    if (p) assert.deepEqual(await p.cleanup(), []);
    rmSync(out, { recursive: true, force: true });
  });

  it("imports nothing but Node's own modules up front (the rest only lazily)", () => {
    const text = readFileSync(bundle, "utf8");
    const required = [...text.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]!);
    assert.ok(required.includes("node:net"), "the pattern finds the bundle's requires");
    assert.deepEqual(required.filter((s) => !s.startsWith("node:")), []);
    assert.doesNotMatch(text, /^\s*await main\(\);$/m, "CommonJS has no top-level await");
  });

  it("rolls back through the API, with progress, and the proxy serves the old release", async () => {
    const second = await p.run(["deploy", "web", p.artifact({ version: "v2" })]);
    assert.equal(second.code, 0, second.out);
    const rolled = await thin(["rollback", "web"]);
    assert.equal(rolled.code, 0, rolled.out);
    assert.match(rolled.out, /switched\s+traffic on v1/);
    assert.match(rolled.out, /rolled back web in production: v2 → v1 \(warm\)/);
    const answer = await fetch(p.proxyUrl() + "/");
    assert.equal(answer.headers.get("x-version"), "v1");
    await answer.text();
  });

  it("reads JSON answers, and errors keep their code and exit code", async () => {
    const status = await thin(["status", "--json"]);
    assert.equal(status.code, 0, status.out);
    assert.equal(JSON.parse(status.out).environments[0].services[0].live.number, 1);
    const unknown = await thin(["releases", "nope"]);
    assert.equal(unknown.code, 2, unknown.out);
    assert.match(unknown.out, /SERVICE_UNKNOWN/);
    const noTarget = await thin(["rollback", "web"]);
    assert.equal(noTarget.code, 1, noTarget.out);
    assert.match(noTarget.out, /ROLLBACK_NO_TARGET/);
  });

  it("leaves a command line the quick parse does not take to commander: usage, exit 2", async () => {
    const missing = await thin(["rollback"]);
    assert.equal(missing.code, 2, missing.out);
    assert.match(missing.out, /missing required argument 'service'/);
  });
});
