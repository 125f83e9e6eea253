import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { processAlive } from "../../src/engine/index.js";
import { testConfig, type Behaviour } from "./project.js";
import { waitFor } from "./wait.js";

export const root = resolve(import.meta.dirname, "../..");
const tsx = import.meta.resolve("tsx");

/** node arguments that run the CLI of a build (default: this checkout's sources, through tsx). */
export function cliArgs(buildRoot: string = root): string[] {
  return ["--import", tsx, join(buildRoot, "src/cli/main.ts")];
}

/** Runs one CLI command to its end. */
export function run(cwd: string, args: string[], options: { build?: string } = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [...cliArgs(options.build), ...args], { cwd, env: { ...process.env, NO_COLOR: "1" } });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    child.on("close", (code) => done({ code, out }));
  });
}

interface EngineInfo {
  pid: number;
  proxy: string;
  api: string;
}

/**
 * A project folder driven through the CLI, as a user would: `engineroom up` as a child process
 * (killed or stopped by the test), commands run against it, and `engineroom down` at the end, which
 * must leave no process of the project behind.
 */
export class CliProject {
  readonly dir: string;
  engine: ChildProcess | undefined;
  #counter = 0;
  #seenPids = new Set<number>();

  constructor(config: string = testConfig().replace("    instances: 2", "    artifact: ./app\n    instances: 2")) {
    this.dir = mkdtempSync(join(tmpdir(), "engineroom-cli-"));
    writeFileSync(join(this.dir, "engineroom.yaml"), config);
    this.artifact({ version: "v1" }, "app");
  }

  /** A folder of the fixture app with this behaviour (relative to the project). */
  artifact(behaviour: Behaviour, name: string = `artifact-${++this.#counter}-${behaviour.version}`): string {
    const folder = join(this.dir, name);
    cpSync(join(root, "test/fixtures/app"), folder, { recursive: true });
    writeFileSync(join(folder, "behaviour.json"), JSON.stringify(behaviour));
    return folder;
  }

  info(): EngineInfo | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir, ".engineroom/engine.json"), "utf8")) as EngineInfo;
    } catch {
      return undefined;
    }
  }

  dataPlanePid(): number | undefined {
    try {
      return (JSON.parse(readFileSync(join(this.dir, ".engineroom/dataplane/dataplane.json"), "utf8")) as { pid: number }).pid;
    } catch {
      return undefined;
    }
  }

  /** Starts `engineroom up` and waits until its engine.json names it. */
  async up(options: { build?: string; args?: string[] } = {}): Promise<ChildProcess> {
    const child = spawn(process.execPath, [...cliArgs(options.build), "up", ...(options.args ?? [])], { cwd: this.dir, stdio: "ignore" });
    this.engine = child;
    this.#seenPids.add(child.pid!);
    await waitFor("the engine's engine.json", () => existsSync(join(this.dir, ".engineroom/engine.json")) && this.info()?.pid === child.pid, 60_000);
    const plane = this.dataPlanePid();
    if (plane) this.#seenPids.add(plane);
    return child;
  }

  /** Kills the engine with a signal and waits for it to exit. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.engine;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill(signal);
    await exited;
  }

  run(args: string[], options: { build?: string } = {}) {
    return run(this.dir, args, options);
  }

  /** The status as `status --json` gives it; remembers every instance pid it shows. */
  async status(): Promise<{ environments: Array<{ name: string; services: Array<{ name: string; live?: { number: number; state: string }; instances: Array<{ id: string; pid: number; releaseId: string }> }> }> }> {
    const { code, out } = await this.run(["status", "--json"]);
    if (code !== 0) throw new Error(`status failed (${code}): ${out}`);
    const status = JSON.parse(out);
    for (const env of status.environments) for (const service of env.services) for (const i of service.instances) if (i.pid) this.#seenPids.add(i.pid);
    return status;
  }

  proxyUrl(): string {
    return `http://${this.info()!.proxy}`;
  }

  /** `engineroom down`, then checks that no process this test saw is left, and removes the folder. */
  async cleanup(): Promise<number[]> {
    const plane = this.dataPlanePid();
    if (plane) this.#seenPids.add(plane);
    await this.run(["down"]);
    await this.kill("SIGKILL");
    const left: number[] = [];
    await waitFor("every process ended", () => [...this.#seenPids].every((pid) => !processAlive(pid)), 20_000).catch(() => {
      for (const pid of this.#seenPids) if (processAlive(pid)) left.push(pid);
    });
    for (const pid of left) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    return left;
  }
}
