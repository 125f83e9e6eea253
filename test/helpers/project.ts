import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ApiClient, createApi } from "../../src/api/index.js";
import { loadProject } from "../../src/config/index.js";
import { silentLogger } from "../../src/core/logger.js";
import { Engine, createOperations } from "../../src/engine/index.js";

const fixtureApp = resolve(import.meta.dirname, "../fixtures/app");

export interface Behaviour {
  version: string;
  healthStatus?: number;
  smokeBody?: string;
  crashAfterMs?: number;
  exitAtStart?: boolean;
  delayMs?: number;
  ignoreTerm?: boolean;
  /** Prints this environment variable at start and answers it at /env. */
  printEnv?: string;
  /** Every Nth request to / answers 500. */
  errorEvery?: number;
  /** Noise: this fraction of requests fail at random. */
  noiseErrorRate?: number;
  /** Noise: extra latency drawn from an exponential distribution with this mean (ms). */
  jitterMs?: number;
  /** The health check answers 503 once the instance has run this long. */
  healthFailAfterMs?: number;
  /** While a file exists at this path, every request but /healthz answers 503 (an outage the health gate does not see). */
  failFile?: string;
}

export interface TestProject {
  dir: string;
  configFile: string;
  engine: Engine;
  api: ApiClient;
  apiAddress: string;
  token: string;
  proxyUrl: string;
  /** Makes an artifact folder of the fixture app with this behaviour. */
  artifact(behaviour: Behaviour): string;
  /** Stops the engine (and its API) and its data plane: proxies and instances too, as `engineroom down` does. */
  stop(): Promise<void>;
  /** Starts the engine again on the same folder. */
  restart(): Promise<void>;
  /** Stops and removes the folder. */
  cleanup(): Promise<void>;
}

/** The YAML of a test project: one service `web` from the fixture app, on free loopback ports. */
export function testConfig(service: string = "", top: string = ""): string {
  return `project: test
proxy:
  listen: 127.0.0.1:0
api:
  listen: 127.0.0.1:0
${top}
services:
  web:
    run: node server.js
    instances: 2
    env:
      GREETING: hi
    health:
      path: /healthz
      interval: 100ms
      timeout: 1s
      healthy_threshold: 2
      start_timeout: 5s
    smoke:
      - path: /
        expect:
          status: 200
          body_contains: hello
          headers: { x-version: v }
    release:
      watch: 5m
      drain_timeout: 5s
      stop_grace: 2s
    restart:
      backoff: 100ms
${service}`;
}

/** Starts an engine in this process on a temp folder with `config` (see testConfig). */
export async function startProject(config: string = testConfig(), options: { storeUrl?: string; beforeStart?: (dir: string) => void } = {}): Promise<TestProject> {
  const dir = mkdtempSync(join(tmpdir(), "engineroom-e2e-"));
  const configFile = join(dir, "engineroom.yaml");
  writeFileSync(configFile, config);
  options.beforeStart?.(dir);
  let counter = 0;
  const project: TestProject = {
    dir,
    configFile,
    engine: undefined as unknown as Engine,
    api: undefined as unknown as ApiClient,
    apiAddress: "",
    token: "",
    proxyUrl: "",
    artifact(behaviour) {
      const folder = join(dir, `artifact-${++counter}-${behaviour.version}`);
      cpSync(fixtureApp, folder, { recursive: true });
      writeFileSync(join(folder, "behaviour.json"), JSON.stringify(behaviour));
      return folder;
    },
    async stop() {
      await closeApi?.();
      closeApi = undefined;
      await project.engine.stop();
    },
    async restart() {
      // An engine stopped by hand (`engine.stop({ keepDataPlane: true })`) left its API listening.
      await closeApi?.();
      closeApi = undefined;
      await boot();
    },
    async cleanup() {
      await project.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  let closeApi: (() => Promise<void>) | undefined;
  const boot = async () => {
    const engine = await Engine.start({ project: loadProject(configFile), logger: silentLogger, storeUrl: options.storeUrl });
    const token = engine.files.token();
    const app = createApi({ operations: createOperations(engine), token });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const address = app.server.address() as { port: number };
    closeApi = () => app.close();
    // As `engineroom up` does, so that the CLI finds this engine.
    engine.files.writeEngineInfo({
      pid: process.pid,
      api: `127.0.0.1:${address.port}`,
      proxy: engine.environments[0]!.proxyAddress,
      proxies: Object.fromEntries(engine.environments.map((e) => [e.name, e.proxyAddress])),
      startedAt: new Date().toISOString(),
      project: engine.project.config.project,
    });
    Object.assign(project, {
      engine,
      token,
      apiAddress: `127.0.0.1:${address.port}`,
      api: new ApiClient({ address: `127.0.0.1:${address.port}`, token }),
      proxyUrl: `http://${engine.environments[0]!.proxyAddress}`,
    });
  };
  await boot();
  return project;
}
