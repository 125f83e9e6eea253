import { join } from "node:path";
import { ArtifactStore } from "../artifact/index.js";
import type { LoadedProject } from "../config/index.js";
import { EngineError, createLogger, systemClock, type Clock, type Logger } from "../core/index.js";
import { Deployer, Supervisor, type ProgressListener } from "../deploy/index.js";
import { MetricsWindow } from "../metrics/index.js";
import { createProxy, type Proxy } from "../proxy/index.js";
import { LocalRuntime } from "../runtime/index.js";
import { openStore, type Store } from "../store/index.js";
import { FileConfigSnapshots, processAlive, StateFiles } from "./state-files.js";
import { ProxyTraffic } from "./traffic.js";

/** Until environments arrive (promotion chain), a project runs in one environment. */
export const defaultEnvironment = "production";

export interface EngineOptions {
  project: LoadedProject;
  clock?: Clock;
  logger?: Logger;
  /** Overrides `store.url` of the config (tests use it to point at PostgreSQL). */
  storeUrl?: string;
  /** Overrides `proxy.listen` (tests use port 0). */
  proxyListen?: string;
  onProgress?: ProgressListener;
}

type EngineParts = Pick<
  Engine,
  "project" | "store" | "runtime" | "proxy" | "deployer" | "supervisor" | "metrics" | "files" | "clock" | "logger" | "traffic"
>;

/**
 * The engine: wires the store, the local runtime, the artifact store, the proxy and the deploy
 * domain for one project, and restores what was live when it starts. Interfaces (API, CLI) call
 * its members and hold no logic of their own.
 */
export class Engine {
  readonly project: LoadedProject;
  readonly environment = defaultEnvironment;
  readonly store: Store;
  readonly runtime: LocalRuntime;
  readonly proxy: Proxy;
  readonly deployer: Deployer;
  readonly supervisor: Supervisor;
  readonly metrics: MetricsWindow;
  readonly files: StateFiles;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly traffic: ProxyTraffic;
  proxyAddress = "";
  #pidTimer: NodeJS.Timeout | undefined;
  #stopping: Promise<void> | undefined;

  private constructor(parts: EngineParts) {
    this.project = parts.project;
    this.store = parts.store;
    this.runtime = parts.runtime;
    this.proxy = parts.proxy;
    this.deployer = parts.deployer;
    this.supervisor = parts.supervisor;
    this.metrics = parts.metrics;
    this.files = parts.files;
    this.clock = parts.clock;
    this.logger = parts.logger;
    this.traffic = parts.traffic;
  }

  /** Starts the engine: store, proxy workers, and every release that was live. */
  static async start(options: EngineOptions): Promise<Engine> {
    const { project } = options;
    const clock = options.clock ?? systemClock;
    const logger = options.logger ?? createLogger();
    const files = new StateFiles(project.stateDir);
    files.ensure();
    const running = files.readEngineInfo();
    if (running && running.pid !== process.pid && processAlive(running.pid)) {
      throw new EngineError("ENGINE_ALREADY_RUNNING", `An engine (pid ${running.pid}) already runs for this project; its API is at ${running.api}.`);
    }
    killLeftovers(files, logger);
    const store = await openStore({ url: expandEnv(options.storeUrl ?? project.config.store.url), dir: project.stateDir, clock });
    const runtime = new LocalRuntime({ logDir: join(project.stateDir, "logs"), clock });
    const proxy = createProxy({ listen: options.proxyListen ?? project.config.proxy.listen, workers: project.config.proxy.workers, logger });
    let traffic!: ProxyTraffic;
    const supervisor = new Supervisor({
      runtime,
      events: store.events,
      clock,
      logger,
      environment: defaultEnvironment,
      onUpstreamsChanged: (releaseId) => void traffic.refresh(releaseId, supervisor.upstreams(releaseId)).catch((e) => logger.warn("route refresh failed", { error: String(e) })),
      onGaveUp: (releaseId, instanceId) => deployer.handleGaveUp(releaseId, instanceId),
      isServing: (releaseId) => traffic.servesRelease(releaseId),
    });
    traffic = new ProxyTraffic(proxy, project.config, defaultEnvironment);
    const metrics = new MetricsWindow({ clock });
    proxy.onMetrics((buckets) => metrics.add(buckets));
    const deployer = new Deployer({
      environment: defaultEnvironment,
      store,
      runtime,
      supervisor,
      traffic,
      artifacts: new ArtifactStore({ dir: join(project.stateDir, "artifacts") }),
      configs: new FileConfigSnapshots(join(project.stateDir, "configs")),
      clock,
      logger,
      services: () => project.config.services,
      projectDir: project.dir,
    });
    const engine = new Engine({ project, store, runtime, proxy, deployer, supervisor, metrics, files, clock, logger, traffic });
    try {
      const address = await proxy.start();
      engine.proxyAddress = formatAddress(address.host, address.port);
      engine.#pidTimer = setInterval(() => engine.#recordInstances(), 1000);
      engine.#pidTimer.unref();
      await store.events.append({ type: "engine.started", message: `engine started (pid ${process.pid}); proxy on ${engine.proxyAddress}`, data: { pid: process.pid } });
      await deployer.recover({ onProgress: options.onProgress });
      engine.#recordInstances();
    } catch (error) {
      await engine.stop().catch(() => {});
      throw error;
    }
    return engine;
  }

  /** Stops cleanly: cancels watch windows, stops the proxy (letting in-flight requests finish), stops every instance, closes the store. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      clearInterval(this.#pidTimer);
      await this.deployer.close();
      await this.proxy.stop(5000).catch((e) => this.logger.warn("proxy stop failed", { error: String(e) }));
      await this.supervisor.stopAll(Math.min(10_000, ...Object.values(this.project.config.services).map((s) => s.release.stop_grace)));
      this.files.writeInstancePids([]);
      await this.store.events.append({ type: "engine.stopped", message: "engine stopped", data: {} }).catch(() => {});
      await this.store.close();
    })();
    return this.#stopping;
  }

  #recordInstances(): void {
    const pids = this.runtime.list().flatMap((i) => (i.status !== "exited" && i.pid ? [i.pid] : []));
    this.files.writeInstancePids(pids);
  }
}

/** Instances of an engine that died without stopping them lead their own process groups; end them. */
function killLeftovers(files: StateFiles, logger: Logger): void {
  for (const pid of files.readInstancePids()) {
    if (!processAlive(pid)) continue;
    try {
      process.kill(-pid, "SIGKILL");
      logger.warn(`stopped instance process group ${pid} left over by an engine that did not stop cleanly`);
    } catch {
      // Not a group leader we may signal any more; leave it.
    }
  }
  files.writeInstancePids([]);
}

/** Replaces ${VAR} with the environment variable's value, so that store URLs need not hold passwords. */
function expandEnv(value: string | undefined): string | undefined {
  return value?.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => process.env[name] ?? "");
}

export function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
