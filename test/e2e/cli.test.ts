import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import { processAlive } from "../../src/engine/index.js";
import { cliArgs as cliArgsOf, root } from "../helpers/cli.js";
import { get } from "../helpers/load.js";
import { waitFor } from "../helpers/wait.js";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";

const cliArgs = cliArgsOf();

/** Runs the CLI to completion in `cwd`. */
function cli(cwd: string, ...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [...cliArgs, ...args], { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 60_000 });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Starts the CLI in the background. */
function cliBackground(cwd: string, ...args: string[]): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [...cliArgs, ...args], { cwd, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (c) => (output += c));
  child.stderr!.on("data", (c) => (output += c));
  return Object.assign(child, { output: () => output });
}

/** Runs the CLI without blocking this process (an engine started in this process must go on answering). */
function cliAsync(cwd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [...cliArgs, ...args], { cwd, env: { ...process.env, NO_COLOR: "1", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((r) => (child.exitCode !== null || child.signalCode !== null ? r(child.exitCode) : child.on("exit", (code) => r(code))));
/** As `exited`, and once its output is read to the end: what it wrote last may come after its exit. */
const closed = (child: ChildProcess) =>
  new Promise<number | null>((r) => (child.stdout?.readableEnded && child.stderr?.readableEnded ? r(child.exitCode) : child.on("close", (code) => r(code))));


function artifact(dir: string, behaviour: Record<string, unknown>): string {
  const folder = join(dir, `art-${behaviour.version}-${Math.random().toString(36).slice(2, 8)}`);
  cpSync(join(root, "test/fixtures/app"), folder, { recursive: true });
  writeFileSync(join(folder, "behaviour.json"), JSON.stringify(behaviour));
  return folder;
}

describe("engineroom CLI", () => {
  let dir: string;
  let engine: ReturnType<typeof cliBackground>;
  let proxy: string;
  /** The engine the mid-deploy test killed. */
  let killed: number | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "engineroom-cli-"));
  });
  /** Every process of the project this test saw: engines, the data plane, instances. */
  const seen = new Set<number>();
  const remember = () => {
    const status = cli(dir, "status", "--json");
    if (status.code !== 0) return;
    for (const s of JSON.parse(status.stdout).environments[0].services) for (const i of s.instances as { pid?: number }[]) if (i.pid) seen.add(i.pid);
    const plane = dataPlanePid();
    if (plane) seen.add(plane);
  };
  const dataPlanePid = () => {
    try {
      return (JSON.parse(readFileSync(join(dir, ".engineroom/dataplane/dataplane.json"), "utf8")) as { pid: number }).pid;
    } catch {
      return undefined;
    }
  };
  const startEngine = async () => {
    engine = cliBackground(dir, "up");
    seen.add(engine.pid!);
    const infoFile = join(dir, ".engineroom/engine.json");
    const named = () => {
      try {
        return JSON.parse(readFileSync(infoFile, "utf8")).pid === engine.pid; // the file may be half written
      } catch {
        return false;
      }
    };
    await waitFor("the engine", named, 60_000).catch((error) => {
      throw new Error(`${(error as Error).message}; it printed:\n${engine.output()}`);
    });
    proxy = "http://" + JSON.parse(readFileSync(infoFile, "utf8")).proxy;
  };

  after(async () => {
    // Whatever a failed test left: `down`, then anything still alive is killed.
    if (existsSync(join(dir, "engineroom.yaml"))) cli(dir, "down");
    if (engine && engine.exitCode === null && engine.signalCode === null) {
      engine.kill("SIGKILL");
      await exited(engine);
    }
    for (const pid of seen) if (processAlive(pid)) process.kill(pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("init writes a starter config and app, and will not overwrite them", () => {
    const target = join(dir, "starter");
    const first = cli(dir, "init", target);
    assert.equal(first.code, 0, first.stderr);
    assert.ok(existsSync(join(target, "engineroom.yaml")) && existsSync(join(target, "app/server.js")));
    const before = readFileSync(join(target, "engineroom.yaml"), "utf8");
    const second = cli(dir, "init", target);
    assert.equal(second.code, 2);
    assert.match(second.stderr, /exists already; nothing was changed/);
    assert.equal(readFileSync(join(target, "engineroom.yaml"), "utf8"), before);
  });

  it("schema prints the JSON Schema", () => {
    const result = cli(dir, "schema");
    assert.equal(result.code, 0);
    assert.equal(JSON.parse(result.stdout).title, "engineroom.yaml");
  });

  it("refuses a bad config at start with a coded error, and changes nothing", () => {
    const bad = join(dir, "bad");
    cpSync(join(root, "test/fixtures/app"), join(bad, "app"), { recursive: true });
    writeFileSync(join(bad, "engineroom.yaml"), testConfig().replace("    instances: 2", "    instances: 2\n    replicas: 3"));
    const result = cli(bad, "up");
    assert.equal(result.code, 2);
    assert.match(result.stderr, /CONFIG_INVALID/);
    assert.match(result.stderr, /services\.web\.replicas: unknown key/);
    assert.ok(!existsSync(join(bad, ".engineroom")), "no state folder was created");
  });

  it("says so when no engine runs", () => {
    writeFileSync(join(dir, "engineroom.yaml"), testConfig());
    const result = cli(dir, "status");
    assert.equal(result.code, 3);
    assert.match(result.stderr, /ENGINE_NOT_RUNNING/);
  });

  it("up runs the engine; deploy, status, releases, logs and rollback talk to it", async () => {
    await startEngine();

    const v1 = cli(dir, "deploy", "web", artifact(dir, { version: "v1" }));
    assert.equal(v1.code, 0, v1.stderr);
    assert.match(v1.stdout, /live web v1/);
    assert.match(v1.stderr, /healthy .*passed GET \/healthz/);
    assert.equal((await get(proxy)).version, "v1");

    const status = JSON.parse(cli(dir, "status", "--json").stdout);
    assert.equal(status.environments[0].services[0].live.number, 1);
    assert.equal(status.environments[0].services[0].instances.length, 2);

    const noTarget = cli(dir, "rollback", "web");
    assert.equal(noTarget.code, 1);
    assert.match(noTarget.stderr, /ROLLBACK_NO_TARGET/);

    const failing = cli(dir, "deploy", "web", artifact(dir, { version: "v2", healthStatus: 500 }));
    assert.equal(failing.code, 1);
    assert.match(failing.stderr, /DEPLOY_HEALTH_TIMEOUT/);
    assert.match(failing.stderr, /last lines of web-production-v2-\d/);
    assert.match(failing.stderr, /v2 listening on/);
    assert.equal((await get(proxy)).version, "v1");

    assert.equal(cli(dir, "deploy", "web", artifact(dir, { version: "v3" })).code, 0);
    assert.equal((await get(proxy)).version, "v3");
    const back = cli(dir, "rollback", "web");
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stdout, /v3 → v1 \(warm\)/);
    assert.equal((await get(proxy)).version, "v1");
    remember();

    const releases = JSON.parse(cli(dir, "releases", "web", "--json").stdout) as { number: number; state: string }[];
    assert.deepEqual(
      releases.map((r) => [r.number, r.state]).slice(0, 2),
      [
        [3, "rolled-back"],
        [2, "failed"],
      ],
    );
    const logs = cli(dir, "logs", "web", "-n", "5");
    assert.equal(logs.code, 0);
    assert.match(logs.stdout, /==> web-production-v1-1/);
    assert.match(logs.stdout, /out v1 listening on/);

    const unknown = cli(dir, "deploy", "nope", artifact(dir, { version: "x" }));
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /SERVICE_UNKNOWN/);
  });

  for (const signal of ["SIGINT", "SIGKILL"] as const) {
    it(`${signal} to a deploy before its switch cancels it, and the live release keeps serving`, async () => {
      const deploying = cliBackground(dir, "deploy", "web", artifact(dir, { version: `slow-${signal}`, healthStatus: 503 }));
      await waitFor("the new release to start", () => /starting/.test(deploying.output()));
      deploying.kill(signal);
      const code = await exited(deploying);
      if (signal === "SIGINT") assert.equal(code, 130);
      await waitFor("the release to fail as cancelled", () => {
        const [latest] = JSON.parse(cli(dir, "releases", "web", "--json").stdout) as { state: string; reason: string }[];
        return latest!.state === "failed" && /DEPLOY_CANCELLED/.test(latest!.reason);
      });
      assert.equal((await get(proxy)).version, "v1");
    });
  }

  it("SIGINT stops the engine alone: the data plane keeps serving, and the next up attaches to it", async () => {
    remember();
    engine.kill("SIGINT");
    assert.equal(await exited(engine), 0);
    assert.match(engine.output(), /engine stopped; proxies and instances keep serving/);
    assert.ok(!existsSync(join(dir, ".engineroom/engine.json")));
    assert.equal((await get(proxy)).version, "v1");
    const noEngine = cli(dir, "status");
    assert.equal(noEngine.code, 3);
    assert.match(noEngine.stderr, /ENGINE_NOT_RUNNING/);
    await startEngine();
    assert.equal((await get(proxy)).version, "v1");
    remember();
  });

  it("says the engine went away (exit 3) and what state the deploy was left in, when the engine dies mid-deploy", async () => {
    const deploying = cliBackground(dir, "deploy", "web", artifact(dir, { version: "cut-off", healthStatus: 503 }));
    await waitFor("the new release at its health gate", () => /starting/.test(deploying.output()));
    remember();
    killed = engine.pid;
    engine.kill("SIGKILL");
    await exited(engine);
    assert.equal(await closed(deploying), 3, deploying.output());
    const output = deploying.output();
    assert.match(output, /error ENGINE_GONE: The engine went away during the command: the deploy of web v(\d+) had started its instances and was at the health gate/);
    const number = /web v(\d+) had started/.exec(output)![1];
    assert.match(output, new RegExp(`the switch had not happened: production still serves v1; the next \`engineroom up\` marks v${number} failed`));
    assert.doesNotMatch(output, /INTERNAL|This is a bug/);
    assert.equal((await get(proxy)).version, "v1", "what it said holds: production still serves v1");
  });

  it("down stops the data plane and every instance, leaving no process behind", async () => {
    const down = cli(dir, "down");
    assert.equal(down.code, 0, down.stderr);
    await waitFor("every process of the project to end", () => [...seen].every((pid) => !processAlive(pid)), 30_000);
  });

  it("unlock --force works without an engine, straight in the store: it takes the lease the killed engine's deploy held", () => {
    const refused = cli(dir, "unlock");
    assert.equal(refused.code, 4);
    assert.match(refused.stderr, /LOCK_HELD: unlock takes a lock from its holder; nothing was changed/);
    const forced = cli(dir, "unlock", "--force");
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, new RegExp(`^unlocked production: took the lock from "deploy web" \\(pid ${killed} on `, "m"));
    assert.match(cli(dir, "unlock", "--force").stdout, /^production was not locked$/m);
  });
});

describe("engineroom CLI against a chain of two environments", () => {
  let p: TestProject;
  const chain = testConfig().replace("watch: 5m", "watch: 300ms") + "environments:\n  staging: {}\n  production: {}\n";

  before(async () => {
    p = await startProject(chain);
  });
  after(async () => {
    await p?.cleanup();
  });

  it("deploy --env passes the environment through: the engine refuses a later one with DEPLOY_WRONG_ENVIRONMENT, an unknown one is bad input", async () => {
    const later = await cliAsync(p.dir, ["deploy", "web", p.artifact({ version: "v1" }), "--env", "production"]);
    assert.equal(later.code, 1, later.stderr);
    assert.match(later.stderr, /DEPLOY_WRONG_ENVIRONMENT: production is not the first environment/);
    const unknown = await cliAsync(p.dir, ["deploy", "web", "--env", "nowhere"]);
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /ENVIRONMENT_UNKNOWN/);
  });

  it("status prints the API's bound address, as text and in --json", async () => {
    const text = await cliAsync(p.dir, ["status"]);
    assert.equal(text.code, 0, text.stderr);
    assert.ok(text.stdout.split("\n")[0]!.includes(`api http://${p.apiAddress}`), text.stdout);
    assert.equal(JSON.parse((await cliAsync(p.dir, ["status", "--json"])).stdout).api, p.apiAddress);
  });

  it("plan exits 2 (bad input) on CONFIG_INVALID, as every command does", async () => {
    const good = readFileSync(p.configFile, "utf8");
    writeFileSync(p.configFile, good.replace("    instances: 2", "    instances: 2\n    replicas: 3"));
    try {
      const planned = await cliAsync(p.dir, ["plan"]);
      assert.equal(planned.code, 2, planned.stderr);
      assert.match(planned.stderr, /CONFIG_INVALID/);
      assert.match(planned.stderr, /replicas: unknown key/);
    } finally {
      writeFileSync(p.configFile, good);
    }
  });

  it("commands that talk to the engine load neither the engine, the store, the config parser, an HTTP framework nor commander", async () => {
    // A module hook that writes down every module the CLI resolves.
    const trace = join(p.dir, "modules.txt");
    const hooks = join(p.dir, "trace-hooks.mjs");
    writeFileSync(hooks, `import { appendFileSync } from "node:fs";\nexport async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(${JSON.stringify(trace)}, r.url + "\\n"); return r; }\n`);
    const register = `data:text/javascript,${encodeURIComponent(`import { register } from "node:module"; register(${JSON.stringify(pathToFileURL(hooks).href)});`)}`;
    for (const args of [["status"], ["rollback", "web", "--env", "staging"], ["releases", "web"]]) {
      writeFileSync(trace, "");
      const run = await new Promise<{ code: number | null; out: string }>((done) => {
        // NODE_DEBUG=module names every CommonJS module loaded too (commander is one).
        const child = spawn(process.execPath, ["--import", register, ...cliArgs, ...args], { cwd: p.dir, env: { ...process.env, NO_COLOR: "1", NODE_DEBUG: "module" } });
        let out = "";
        child.stdout.on("data", (c) => (out += c));
        child.stderr.on("data", (c) => (out += c));
        child.on("close", (code) => done({ code, out }));
      });
      assert.ok(run.code === 0 || /ROLLBACK_NO_TARGET/.test(run.out), run.out);
      const loaded = readFileSync(trace, "utf8").split("\n").filter(Boolean);
      assert.ok(loaded.some((url) => url.endsWith("/src/cli/client.ts")), "the trace works");
      const heavy = loaded.filter((url) => /\/src\/(engine|store|config|deploy|plan|proxy|runtime|secrets|api)\/|\/node_modules\/(fastify|undici|better-sqlite3|pg|zod|js-yaml)\//.test(url));
      assert.deepEqual(heavy, [], `${args.join(" ")} loaded heavy modules`);
      assert.doesNotMatch(run.out, /node_modules\/commander\//, `${args.join(" ")} loaded commander`);
    }
  });
});
