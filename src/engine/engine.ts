import type { z } from "zod";
import type { ArtifactStore } from "../artifact/index.js";
import { expandEnvReferences, unknownKeyProblems, type LoadedProject } from "../config/index.js";
import { EngineError, createLogger, processAlive, redactor, systemClock, type Clock, type Logger } from "../core/index.js";
import { createSecretProviders, resolveSecrets, secretsConfigSchema, type SecretProviders } from "../secrets/index.js";
import type { Verdict } from "../analysis/index.js";
import { promote, type ConfigSnapshots, type DeployResult, type ProgressListener, type PromoteOptions, type RunOptions } from "../deploy/index.js";
import { DataPlane } from "../dataplane/index.js";
import { runtimeConfigSchema, type Runtime } from "../runtime/index.js";
import { wireRuntimes, type EngineRuntimes, type Fleet } from "./fleet-wiring.js";
import { openStore, type Store } from "../store/index.js";
import { StateFiles } from "./state-files.js";
import { prepareState } from "./state-store.js";
import { DriftWatch } from "./drift.js";
import { Leadership } from "./leadership.js";
import { CostWatch } from "./cost-watch.js";
import { EnvironmentRuntime } from "./environment.js";
import { Monitoring } from "./monitoring.js";
import { monitoringConfig } from "./monitoring-config.js";
import { drillsConfig, startDrills, type DrillParts } from "./drill-wiring.js";
import type { Access, Audit, Tokens } from "./access.js";
import { AuditTrail } from "./audit.js";
import { RateLimiter } from "./rate-limit.js";
import { TokenService } from "./tokens.js";
import { createLearningLog, postmortemsConfig, startPostmortems, type PostmortemParts } from "./postmortem-wiring.js";
import type { LearningLog, PostmortemsConfig } from "../postmortem/index.js";

export interface EngineOptions {
  project: LoadedProject;
  clock?: Clock;
  logger?: Logger;
  /** Overrides `store.url` of the config (tests use it to point at PostgreSQL). */
  storeUrl?: string;
  /** Overrides every environment's `proxy.listen` (tests use port 0). */
  proxyListen?: string;
  onProgress?: ProgressListener;
  /** Called when the engine, on a PostgreSQL store another engine leads, stands by (start waits until it leads); `latest` gives who leads as the last claim read it. */
  onStandby?: (leader: { holder: string; address: string | null; term: number } | undefined, latest: () => { holder: string; address: string | null; term: number } | undefined) => void;
  /** Called when the engine lost its leadership and stopped itself (its data plane keeps serving). */
  onDeposed?: (reason: string) => void;
  /** Aborts a start that stands by. */
  signal?: AbortSignal;
}

/**
 * The engine: wires the store, the local runtime, the artifact store and one EnvironmentRuntime per
 * environment of the chain (each with its own proxy), and restores what was live when it starts.
 * Interfaces (API, CLI) call its members and hold no logic of their own.
 */
export class Engine {
  readonly project: LoadedProject;
  readonly store: Store;
  /** Every environment's runtime as one (adopt, list, usage, logs); each environment starts its instances on its own. */
  readonly runtime: Runtime;
  /** The ssh hosts' fleets the engine is attached to: the project-level `runtime: ssh`, and each `runtime: ssh` environment's own. */
  readonly fleets: readonly Fleet[];
  readonly files: StateFiles;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The promotion chain, first to last. */
  readonly environments: readonly EnvironmentRuntime[];
  /** The resolved config of every release, by config hash. */
  readonly configSnapshots: ConfigSnapshots;
  readonly artifacts: ArtifactStore;
  /** Changes made outside the engine, scanned every 30 s and on `plan --refresh-only`. */
  readonly drift: DriftWatch;
  /** Measured usage of every instance, sampled every 30 s for cost; the price sheet. */
  readonly cost: CostWatch;
  /** The data-plane process (proxies) this engine is attached to; it outlives the engine. */
  readonly dataPlane: DataPlane;
  /** Checks, SLOs, alerts and channels; started once the environments serve. */
  readonly monitoring: Monitoring;
  /** Scoped API tokens (stored hashed) and the state folder's admin token. */
  readonly tokens: Tokens;
  /** Every call through an interface, allowed or refused, as `audit.call` events. */
  readonly audit: Audit;
  /** The per-token rate limit (`api.rate_limit`). */
  readonly access: Access;
  /** The learning log: `append({ date?, learning, source, services, environment?, key? })`, `list({ service?, since? })`. */
  readonly learnings: LearningLog;
  /** `postmortems:` of engineroom.yaml, resolved. */
  readonly postmortemsConfig: PostmortemsConfig;
  /** Post-mortems and action items; set once monitoring serves. */
  postmortems: PostmortemParts | undefined;
  /** Drills (`drills:`): their runner (one at a time, engine-wide) and schedule; set once the engine serves. */
  drills: DrillParts | undefined;
  /** Leader or standby among the engines on one PostgreSQL store (`ha:`); on SQLite, the single engine. */
  readonly leadership: Leadership;
  #stopping: Promise<void> | undefined;
  #runtimes: EngineRuntimes | undefined;
  readonly #attaching = new Map<string, Promise<boolean>>();

  private constructor(parts: Pick<Engine, "project" | "store" | "runtime" | "fleets" | "files" | "clock" | "logger" | "environments" | "configSnapshots" | "artifacts" | "dataPlane" | "postmortemsConfig" | "leadership">) {
    this.dataPlane = parts.dataPlane;
    this.leadership = parts.leadership;
    this.configSnapshots = parts.configSnapshots;
    this.artifacts = parts.artifacts;
    this.drift = new DriftWatch(this);
    this.cost = new CostWatch(this);
    this.project = parts.project;
    this.store = parts.store;
    this.runtime = parts.runtime;
    this.fleets = parts.fleets;
    this.files = parts.files;
    this.clock = parts.clock;
    this.logger = parts.logger;
    this.environments = parts.environments;
    this.monitoring = new Monitoring(this);
    this.tokens = new TokenService({ store: this.store, clock: this.clock, adminToken: () => this.files.readToken() });
    this.audit = new AuditTrail(this.store);
    this.access = new RateLimiter({ clock: this.clock, requestsPerMinute: this.project.config.api.rate_limit.requests_per_minute });
    this.postmortemsConfig = parts.postmortemsConfig;
    this.learnings = createLearningLog(parts.project, parts.postmortemsConfig, parts.store, parts.clock, parts.logger);
  }

  /** Starts the engine: store, every environment's proxy workers, and every release that was live. */
  static async start(options: EngineOptions): Promise<Engine> {
    const { project } = options;
    const clock = options.clock ?? systemClock;
    const logger = options.logger ?? createLogger();
    // All checked before anything is created or changed (monitoring: every section's problems at once).
    const secrets = secretProviders(project);
    const runtimeSettings = runtimeConfig(project);
    const monitoring = await monitoringConfig(project, secrets, logger);
    const postmortems = postmortemsConfig(project);
    const drills = drillsConfig({ project });
    const files = new StateFiles(project.stateDir);
    files.ensure();
    const running = files.readEngineInfo();
    if (running && running.pid !== process.pid && processAlive(running.pid)) {
      throw new EngineError("ENGINE_ALREADY_RUNNING", `An engine (pid ${running.pid}) already runs for this project; its API is at ${running.api}.`);
    }
    const store = await openStore({ url: expandEnv(options.storeUrl ?? project.config.store.url), dir: project.stateDir, clock });
    // A standby waits here until it leads; only the leader attaches to the data plane and runs anything.
    const leadership = new Leadership(store, { leaseMs: project.config.ha.lease, renewMs: project.config.ha.renew }, { address: project.config.api.listen, clock, logger });
    await leadership.lead({ signal: options.signal, onStandby: options.onStandby }).catch(async (error: unknown) => {
      await store.close().catch(() => {});
      throw error;
    });
    // Config snapshots and the applied revision live in the store; artifacts where artifacts.store says.
    const { artifacts, configs } = await prepareState(store, project.config.artifacts.store, project.stateDir, logger);
    let dataPlane: DataPlane;
    try {
      dataPlane = await DataPlane.attach({ stateDir: project.stateDir, logger: logger.child({ component: "dataplane-client" }) });
    } catch (error) {
      await store.close().catch(() => {});
      throw error;
    }
    // Each environment's runtime: the project's, or a fleet of its own ssh hosts (forwarded and attached here).
    let runtimes: EngineRuntimes;
    try {
      runtimes = await wireRuntimes(project, runtimeSettings, { clock, logger, configOf: (name) => environments.find((e) => e.name === name)?.config });
    } catch (error) {
      dataPlane.close();
      await store.close().catch(() => {});
      throw error;
    }
    const runtime = runtimes.all;
    // What an earlier engine left running, checked to be the same processes; recovery sorts them out.
    const adopted = await runtime.adopt();
    const environments = project.config.environments.map(
      (config) =>
        new EnvironmentRuntime({
          config,
          store,
          runtime: runtimes.of(config.name),
          artifacts,
          configs,
          clock,
          logger,
          projectDir: project.dir,
          resolveEnv: (env) => resolveSecrets(env, secrets, redactor, { warn: (message) => logger.warn(message) }),
          proxy: runtimes.proxy(
            config,
            dataPlane.proxy({
              environment: config.name,
              listen: options.proxyListen ?? config.proxy.listen,
              workers: config.proxy.workers,
              upstreamTimeoutMs: 60_000,
            }),
          ),
        }),
    );
    const engine = new Engine({ project, store, runtime, fleets: runtimes.fleets, files, clock, logger, environments, configSnapshots: configs, artifacts, dataPlane, postmortemsConfig: postmortems, leadership });
    engine.#runtimes = runtimes;
    try {
      for (const environment of environments) await environment.start();
      const proxies = environments.map((e) => `${e.name} on ${e.proxyAddress}`).join(", ");
      const plane = dataPlane.handedOver
        ? `handed over from pid ${dataPlane.handedOver.from} to ${dataPlane.handedOver.to}`
        : `${dataPlane.started ? "started" : "attached to"} pid ${dataPlane.info.pid}`;
      await store.events.append({
        type: "engine.started",
        message: `engine started (pid ${process.pid}); data plane ${plane}; proxies: ${proxies}`,
        data: { pid: process.pid, dataPlane: { pid: dataPlane.info.pid, started: dataPlane.started, version: dataPlane.info.version, handedOver: dataPlane.handedOver ?? null } },
      });
      for (const environment of environments) {
        // Hosts that did not answer keep serving what they run; an engine started once they answer recovers it.
        if (runtimes.unattached(environment.name)) continue;
        const mine = adopted.filter((i) => i.labels.environment === environment.name);
        await environment.deployer.recover({ onProgress: options.onProgress, adopted: mine });
      }
      // Instances of environments no longer declared (or unlabelled ones from an older engine).
      const names = new Set(environments.map((e) => e.name));
      const orphans = adopted.filter((i) => !names.has(i.labels.environment ?? ""));
      await Promise.all(orphans.map((i) => runtime.stop(i.id, { graceMs: 5_000 }).then(() => runtime.forget(i.id))));
      engine.drift.start(30_000);
      engine.cost.start(30_000);
      // Deposed (the lease was taken, or unrenewable for a whole lease): stop leading at once; the store refuses its writes anyway.
      leadership.onLost((reason) => void engine.stop({ keepDataPlane: true }).finally(() => options.onDeposed?.(reason)));
      await engine.monitoring.start(monitoring);
      engine.drills = startDrills(engine, drills);
      engine.postmortems = await startPostmortems(engine);
    } catch (error) {
      await engine.stop().catch(() => {});
      throw error;
    }
    return engine;
  }

  /**
   * Attaches a `runtime: ssh` environment that started unattached (its hosts did not all answer at
   * start), now that they answer: forwards and attaches to its hosts, sets its proxy up on them and
   * recovers what they run. False when it was not waiting; rejects as at start when they still do not answer.
   */
  attachHosts(name: string): Promise<boolean> {
    const environment = this.environment(name);
    const runtimes = this.#runtimes;
    if (!runtimes?.unattached(name)) return this.#attaching.get(name) ?? Promise.resolve(false);
    let attaching = this.#attaching.get(name);
    if (!attaching) {
      attaching = (async () => {
        const fleet = await runtimes.attach(name);
        await environment.start();
        const adopted = (await fleet.runtime.adopt()).filter((i) => i.labels.environment === name);
        await environment.deployer.recover({ adopted });
        const hosts = fleet.hosts.map((h) => h.name).join(", ");
        await this.store.events.append({ type: "environment.attached", environment: name, message: `${name} attached to its hosts ${hosts}`, data: { hosts: fleet.hosts.map((h) => h.name), adopted: adopted.length } });
        return true;
      })().finally(() => this.#attaching.delete(name));
      this.#attaching.set(name, attaching);
    }
    return attaching;
  }

  /** The environment by name; without a name, the first of the chain. Throws ENVIRONMENT_UNKNOWN. */
  environment(name?: string): EnvironmentRuntime {
    const found = name === undefined ? this.environments[0] : this.environments.find((e) => e.name === name);
    if (!found) {
      throw new EngineError("ENVIRONMENT_UNKNOWN", `No environment named "${name}" (the chain is ${this.environments.map((e) => e.name).join(" → ")}).`);
    }
    return found;
  }

  /** The environment before `name` in the promotion chain, if any. */
  previousEnvironment(name: string): EnvironmentRuntime | undefined {
    const index = this.environment(name).config.index;
    return index > 0 ? this.environments[index - 1] : undefined;
  }

  /** Deploys into the first environment of the chain; naming another one is refused (releases reach it by promotion). */
  deploy(service: string, artifact: string | undefined, options: RunOptions & { environment?: string } = {}): Promise<DeployResult> {
    const target = this.environment(options.environment);
    if (target.config.index > 0) {
      throw new EngineError("DEPLOY_WRONG_ENVIRONMENT", `${target.name} is not the first environment of the chain (${this.environments[0]!.name} is).`);
    }
    return target.deployer.deploy(service, artifact, options);
  }

  /** Promotes the service's stable release from the environment before `to` (default: the second of the chain) into `to`. */
  promote(service: string, options: PromoteOptions & { to?: string } = {}): Promise<DeployResult> {
    const to = options.to === undefined ? this.environments[1] : this.environment(options.to);
    const from = to && this.previousEnvironment(to.name);
    if (!to || !from) {
      throw new EngineError("DEPLOY_WRONG_ENVIRONMENT", `Nothing to promote into: ${to ? `${to.name} is the first environment` : "the chain has one environment"}; use deploy.`);
    }
    return promote(this.store, service, from.name, to.deployer, { ...options, fromDeployer: from.deployer });
  }

  /**
   * Follows the analysis of the service's live release until its watch ends, calling `onVerdict`
   * with every verdict; resolves with the release as it ended (stable or rolled back) and its last
   * verdict. A release not being watched resolves at once.
   */
  async follow(service: string, options: { environment?: string; onVerdict?: (verdict: Verdict) => void; signal?: AbortSignal; releaseId?: string } = {}) {
    const environment = this.environment(options.environment);
    const live = await this.store.live.get(service, environment.name);
    const releaseId = options.releaseId ?? live?.releaseId;
    if (!releaseId) throw new EngineError("RELEASE_NOT_FOUND", `${service} has no live release in ${environment.name}.`);
    const { analysis } = environment.deployer;
    const last = analysis.last(releaseId);
    if (last) options.onVerdict?.(last);
    const unsubscribe = analysis.subscribe((id, verdict) => id === releaseId && options.onVerdict?.(verdict));
    try {
      const aborted = new Promise<void>((resolve) => options.signal?.addEventListener("abort", () => resolve(), { once: true }));
      await Promise.race([analysis.ended(releaseId), aborted]);
    } finally {
      unsubscribe();
    }
    const release = await this.store.releases.get(releaseId);
    if (!release) throw new EngineError("RELEASE_NOT_FOUND", `No release ${releaseId}.`);
    return { release, verdict: analysis.last(releaseId) };
  }

  /** Rolls the service's release back now, during its watch window (`engineroom abort`). */
  async abort(service: string, options: RunOptions & { environment?: string } = {}) {
    const environment = this.environment(options.environment);
    const live = await this.store.live.get(service, environment.name);
    const release = live && (await this.store.releases.get(live.releaseId));
    if (!release || release.state !== "watching") {
      throw new EngineError("NOT_WATCHING", `${service} has no release in its watch window in ${environment.name}${release ? ` (v${release.number} is ${release.state})` : ""}; use rollback.`);
    }
    const verdict = environment.deployer.analysis.last(release.id);
    return environment.deployer.rollback(service, {
      ...options,
      reason: `aborted${options.actor ? ` by ${options.actor}` : ""} during its watch window`,
      evidence: verdict ? { verdict } : undefined,
      expectLive: release.id,
    });
  }

  /** Approves the release that waits for it in its environment, and switches to it. */
  async approve(releaseId: string, options: RunOptions = {}): Promise<DeployResult> {
    const release = await this.store.releases.get(releaseId);
    if (!release) throw new EngineError("RELEASE_NOT_FOUND", `No release ${releaseId}.`);
    return this.environment(release.environment).deployer.approve(releaseId, options);
  }

  /**
   * Stops the engine. By default everything stops: the proxies drain and the data-plane process exits,
   * then every instance stops (`engineroom down`, and tests). With `keepDataPlane` only the engine
   * stops: watch windows pause (the next engine resumes them), and the proxies and instances keep
   * serving for the next engine to adopt (Ctrl-C of `engineroom up`, an engine upgrade).
   */
  stop(options: { keepDataPlane?: boolean } = {}): Promise<void> {
    this.#stopping ??= (async () => {
      this.drift.stop();
      await this.cost.stop();
      await this.drills?.stop().catch((error) => this.logger.warn("drills stop failed", { error: String(error) }));
      await this.postmortems?.stop().catch((error) => this.logger.warn("post-mortems stop failed", { error: String(error) }));
      await this.monitoring.stop().catch((error) => this.logger.warn("monitoring stop failed", { error: String(error) }));
      const keep = options.keepDataPlane ?? false;
      const failed = (e: EnvironmentRuntime) => (error: unknown) => this.logger.warn("environment stop failed", { environment: e.name, error: String(error) });
      if (keep) {
        await Promise.all(this.environments.map((e) => e.detach().catch(failed(e))));
        this.runtime.close(); // stops watching the instances; they keep running for the next engine
        this.dataPlane.close();
      } else {
        await Promise.all(this.environments.map((e) => e.stop().catch(failed(e))));
        await this.dataPlane.shutdown(5_000).catch((error) => this.logger.warn("data plane shutdown failed", { error: String(error) }));
      }
      // Lets go of the hosts' daemons, which keep running, and ends the ssh forwarding to them.
      await Promise.all(this.fleets.map((f) => f.close().catch((error) => this.logger.warn("letting go of hosts failed", { environment: f.environment, error: String(error) }))));
      const message = keep ? `engine stopped; the data plane (pid ${this.dataPlane.info.pid}) keeps serving` : "engine and data plane stopped";
      await this.store.events.append({ type: "engine.stopped", message, data: { keepDataPlane: keep } }).catch(() => {});
      await this.leadership.stop(); // hands the lease over at once
      await this.store.close();
    })();
    return this.#stopping;
  }
}

/** The project's runtime settings (`runtime:`), checked against the runtime type's own options. */
export function runtimeConfig(project: LoadedProject) {
  return parseSection(project, "runtime", runtimeConfigSchema, project.config.runtime);
}

/** The project's secret providers; a provider's options are checked here, against its type's schema. */
export function secretProviders(project: LoadedProject): SecretProviders {
  const config = parseSection(project, "secrets", secretsConfigSchema, project.config.secrets ?? {});
  return createSecretProviders(config, { projectDir: project.dir, stateDir: project.stateDir });
}

/**
 * A section of engineroom.yaml whose schema comes from an adapter's registry (config/ cannot see
 * it), parsed at start: CONFIG_INVALID names each problem by its path, as config/ does for the rest.
 */
export function parseSection<S extends z.ZodType>(project: LoadedProject, section: string, schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys" ? unknownKeyProblems(section, schema, issue.path, issue.keys) : [`${[section, ...issue.path].join(".")}: ${issue.message}`],
  );
  throw new EngineError("CONFIG_INVALID", `${project.file} is not valid:\n${problems.map((p) => `  - ${p}`).join("\n")}`, { details: { problems } });
}

/**
 * Replaces ${VAR} in the store URL with the environment variable's value, so that store URLs need not
 * hold passwords. An unset or empty variable is CONFIG_INVALID: an empty URL would silently start a
 * fresh SQLite store.
 */
export function expandEnv(value: string | undefined): string | undefined {
  return value === undefined ? undefined : expandEnvReferences(value, "store.url");
}
