import { createApi } from "../api/index.js";
import { Engine, apiListen, reachableHost } from "../engine/index.js";
import { createLogger, formatAddress, toEngineError } from "../core/index.js";
import { project, type GlobalOptions } from "./context.js";
import { bold, green, progressPrinter, renderError } from "./render.js";
import { serveStandby } from "./standby.js";

export interface UpOptions extends GlobalOptions {
  /** Deploy each service's declared artifact when it has no live release. */
  deploy?: boolean;
}

/** `engineroom up`: runs the engine in the foreground until Ctrl-C or SIGTERM. */
export async function up(options: UpOptions): Promise<number> {
  const loaded = project(options);
  const logger = createLogger({ format: options.json ? "json" : "pretty" });
  const say = (line: string) => process.stderr.write(line + "\n");
  // Beyond loopback only with TLS (API_TLS_REQUIRED), checked before anything starts.
  const listen = apiListen(loaded);
  let standby: Promise<{ close(): Promise<void> } | undefined> | undefined;
  const engine = await Engine.start({
    project: loaded,
    logger,
    onProgress: progressPrinter(),
    // Another engine on the same PostgreSQL leads: wait here until its lease ends, then lead.
    onStandby: (leader, latest) => {
      say(`standby: ${leader ? `${leader.holder}${leader.address ? ` (api ${leader.address})` : ""} leads in term ${leader.term}` : "waiting for the lease"}; this engine leads when its lease ends`);
      // Meanwhile the API's address answers NOT_LEADER with the address of whoever leads now.
      standby = serveStandby(listen, latest).catch((error: unknown) => {
        say(`standby: cannot listen on ${loaded.config.api.listen} (${String(error)}); waiting without it`);
        return undefined;
      });
    },
    // A deposed leader stops (its data plane keeps serving) and exits 75, for its supervisor to start it again as a standby.
    onDeposed: (reason) => {
      say(`lost the leadership: ${reason}; the engine stopped (its data plane keeps serving)`);
      engine.files.removeEngineInfo();
      process.exit(75);
    },
  });
  await (await standby)?.close();
  const api = createApi({ engine, token: engine.files.token(), ...(listen.tls && { https: { cert: listen.tls.cert, key: listen.tls.key } }) });
  try {
    await api.listen({ host: listen.host, port: listen.port });
  } catch (error) {
    await engine.stop();
    throw error;
  }
  const bound = api.server.address();
  // What a client of this machine dials (and names in Host): a wildcard bind is reached by loopback.
  const apiAddress = typeof bound === "object" && bound ? formatAddress(reachableHost(bound.address), bound.port) : loaded.config.api.listen;
  await engine.leadership.advertise(`${listen.tls ? "https" : "http"}://${apiAddress}`);
  const first = engine.environments[0]!;
  engine.files.writeEngineInfo({
    pid: process.pid,
    api: apiAddress,
    proxy: first.proxyAddress,
    proxies: Object.fromEntries(engine.environments.map((e) => [e.name, e.proxyAddress])),
    startedAt: new Date().toISOString(),
    project: loaded.config.project,
    ...(listen.tls && { tls: { cert: listen.tls.certFile } }),
  });
  const proxies = engine.environments.map((e) => `${e.name} http://${e.proxyAddress}`).join(", ");
  const plane = engine.dataPlane;
  const how = plane.handedOver ? "handed over to this build" : plane.started ? "started" : "attached: it kept serving";
  say(`${green("engine up")}  ${bold(loaded.config.project)}: proxy ${proxies}  api ${listen.tls ? `https://${apiAddress} (TLS, certificate ${listen.tls.certFile})` : `http://${apiAddress}`}  data plane pid ${plane.info.pid} (${how})  state ${loaded.stateDir}`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      say("stopping already; a second signal forces exit");
      process.exit(130);
    }
    stopping = true;
    say(`${signal}: stopping the engine; the data plane keeps serving…`);
    await api.close().catch(() => {});
    await engine.stop({ keepDataPlane: true });
    engine.files.removeEngineInfo();
    say(`engine stopped; proxies and instances keep serving (data plane pid ${engine.dataPlane.info.pid}). \`engineroom up\` attaches to them again; \`engineroom down\` stops them.`);
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));

  if (options.deploy) {
    for (const [name, service] of Object.entries(first.config.services)) {
      if (!service.artifact || (await engine.store.live.get(name, first.name))) continue;
      say(`deploying ${name} from ${service.artifact} into ${first.name}`);
      try {
        const result = await engine.deploy(name, undefined, { onProgress: progressPrinter(), actor: "up --deploy" });
        say(`${green("live")} ${name} v${result.release.number} in ${first.name} — try: curl http://${first.proxyAddress}${service.routes[0]?.path ?? "/"}`);
      } catch (error) {
        say(renderError(toEngineError(error)));
      }
    }
  }
  say("Ctrl-C stops the engine (the proxies and instances keep serving); `engineroom down` stops everything.");
  await new Promise(() => {}); // runs until a signal
  return 0;
}

export function splitAddress(address: string): [string, number] {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (!match) throw new Error(`not a host:port address: ${address}`);
  return [match[1]!, Number(match[2])];
}
