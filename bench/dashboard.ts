/**
 * The dashboard's first view at scale, measured in the browser: a real engine with 1,000 services
 * and 10,000 checks, its API as `engineroom up` serves it, and Debian's chromium through
 * playwright-core.
 *
 *   node --import tsx bench/dashboard.ts [--services 1000] [--checks 10000] [--deployed 5] [--runs 7]
 *
 * The project: `services` services (one instance each, a host route each), `deployed` of them
 * deployed for real from the test fixture app, and `checks` TCP checks (every 60 s, ten per service,
 * labelled with it) against a loopback listener of this process, beside every service's own derived
 * checks. The checks run while the browser measures.
 *
 * Per run, in a fresh browser context with the session cookie (logged in once through POST
 * /v1/session): the time from navigation start to the first usable view — the services table of
 * the first page with its health, live releases and traffic charts, and the totals over every
 * service and check — read from the page's own `engineroom:first-view` performance mark. Baselines
 * measured in the same run and browser: a blank page of the same origin (a static file), and the
 * raw `GET /v1/overview` the view is built from, fetched by the page; and when, within the first
 * view, the page's own overview answer had arrived (the rest is loading modules and drawing). Also
 * the checks page's first view (server-paged), and what the unpaged GET /v1/checks costs.
 * Prints median and p90 of `runs`; exits by itself and removes its temp folder. Not a test.
 */
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { createApi } from "../src/api/index.js";
import { loadProject } from "../src/config/index.js";
import { silentLogger } from "../src/core/logger.js";
import { Engine, createOperations } from "../src/engine/index.js";
import { fmt, median, percentile } from "./stats.js";
import { chromiumArgs } from "../test/helpers/browser.js";

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "");
const serviceCount = Number(args.get("services") ?? 1000);
const checkCount = Number(args.get("checks") ?? 10_000);
const deployed = Math.min(serviceCount, Number(args.get("deployed") ?? 5));
const runs = Number(args.get("runs") ?? 7);
const chromiumPath = "/usr/bin/chromium";
if (!existsSync(chromiumPath)) {
  console.log(`bench/dashboard: ${chromiumPath} is absent (apt-get install chromium); nothing measured`);
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), "engineroom-bench-dashboard-"));
const listener = createServer((socket) => socket.end());
await new Promise<void>((done) => listener.listen(0, "127.0.0.1", done));
const targetPort = (listener.address() as { port: number }).port;
const name = (i: number) => `svc-${String(i).padStart(4, "0")}`;

const services = Array.from({ length: serviceCount }, (_, i) => `  ${name(i)}:\n    run: node server.js\n    instances: 1\n    routes: [{ host: ${name(i)}.bench }]\n    health: { path: /healthz, interval: 1s }\n`).join("");
const checks = Array.from({ length: checkCount }, (_, i) => `  probe-${i}: { type: tcp, host: 127.0.0.1, port: ${targetPort}, interval: 60s, service: ${name(i % serviceCount)}, environment: production }\n`).join("");
writeFileSync(
  join(dir, "engineroom.yaml"),
  `project: bench\nproxy:\n  listen: 127.0.0.1:0\napi:\n  listen: 127.0.0.1:0\nmonitor:\n  service_check_interval: 60s\nservices:\n${services}checks:\n${checks}`,
);

const started = performance.now();
const engine = await Engine.start({ project: loadProject(join(dir, "engineroom.yaml")), logger: silentLogger });
const startMs = performance.now() - started;
const api = createApi({ engine, token: engine.files.token() });
await api.listen({ host: "127.0.0.1", port: 0 });
const base = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;
const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });

const cleanup = async () => {
  await browser.close().catch(() => {});
  await api.close().catch(() => {});
  await engine.stop().catch(() => {});
  listener.close();
  rmSync(dir, { recursive: true, force: true });
};

try {
  const ops = createOperations(engine);
  const fixture = resolve(import.meta.dirname, "../test/fixtures/app");
  for (let i = 0; i < deployed; i++) {
    const artifact = join(dir, `artifact-${i}`);
    cpSync(fixture, artifact, { recursive: true });
    writeFileSync(join(artifact, "behaviour.json"), JSON.stringify({ version: `v${i}` }));
    await ops.deploy(name(i), { artifact });
  }
  const login = await fetch(`${base}/v1/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: engine.files.token() }) });
  if (!login.ok) throw new Error(`login failed: ${login.status} ${await login.text()}`);
  const cookies = login.headers.getSetCookie().map((c) => {
    const [pair] = c.split(";");
    const at = pair!.indexOf("=");
    return { name: pair!.slice(0, at), value: pair!.slice(at + 1), url: base };
  });
  console.log(`engine started in ${(startMs / 1000).toFixed(1)} s with ${serviceCount} services (${deployed} deployed) and ${engine.monitoring.checks?.statuses().length ?? 0} checks`);

  type Win = { performance: { getEntriesByName(n: string): { startTime: number }[]; now(): number }; fetch: typeof fetch };
  const firstView: number[] = [];
  const blank: number[] = [];
  const raw: number[] = [];
  const data: number[] = [];
  const checksView: number[] = [];
  for (let run = 0; run <= runs; run++) {
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    await context.addCookies(cookies);
    const page = await context.newPage();
    // A static file of the same origin: what loading any page costs here.
    await page.goto(`${base}/ui/style.css`);
    const blankMs = await page.evaluate(() => {
      const nav = (globalThis as unknown as { performance: { getEntriesByType(t: string): { responseEnd: number }[] } }).performance.getEntriesByType("navigation")[0];
      return nav ? nav.responseEnd : NaN;
    });
    // The raw aggregated read the first view is made of, from the page.
    const rawMs = await page.evaluate(async () => {
      const w = globalThis as unknown as Win;
      const t = w.performance.now();
      await (await w.fetch("/v1/overview?env=production&page=1&size=50")).json();
      return w.performance.now() - t;
    });
    await page.goto(`${base}/#/`);
    await page.waitForSelector("body[data-ready=overview] #services tbody tr", { timeout: 120_000 });
    const viewMs = await page.evaluate(() => (globalThis as unknown as Win).performance.getEntriesByName("engineroom:first-view")[0]?.startTime ?? NaN);
    // When the page had its data: the end of its first /v1/overview answer (Resource Timing).
    const dataMs = await page.evaluate(() => {
      const entries = (globalThis as unknown as { performance: { getEntriesByType(t: string): { name: string; responseEnd: number }[] } }).performance.getEntriesByType("resource");
      return entries.find((e) => e.name.includes("/v1/overview"))?.responseEnd ?? NaN;
    });
    const rows = await page.locator("#services tbody tr").count();
    // The checks page opened afresh: 100 of the 10,000 checks, paged and filtered on the server.
    const checksPage = await context.newPage();
    await checksPage.goto(`${base}/#/checks`);
    await checksPage.waitForSelector("body[data-ready=checks] table tbody tr", { timeout: 120_000 });
    const checksViewMs = await checksPage.evaluate(() => (globalThis as unknown as Win).performance.getEntriesByName("engineroom:first-view")[0]?.startTime ?? NaN);
    await context.close();
    if (run === 0) {
      console.log(`warm-up: first view ${fmt(viewMs)} (${rows} rows shown)`);
      continue; // the first run warms chromium's and the engine's caches
    }
    firstView.push(viewMs);
    blank.push(blankMs);
    raw.push(rawMs);
    data.push(dataMs);
    checksView.push(checksViewMs);
  }
  // The checks page's read: every check with its uptime windows (not paginated on the server).
  const checksMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const answer = await fetch(`${base}/v1/checks`, { headers: { authorization: `Bearer ${engine.files.token()}` } });
    const body = await answer.text();
    checksMs.push(performance.now() - t);
    if (i === 0) console.log(`GET /v1/checks: ${(body.length / 1e6).toFixed(1)} MB`);
  }
  const line = (label: string, values: number[]) => console.log(`${label.padEnd(44)} median ${fmt(median(values))}  p90 ${fmt(percentile(values, 0.9))}`);
  console.log(`\n${runs} runs, measured in chromium:`);
  line(`first usable view (page 1: 50 of ${serviceCount} services)`, firstView);
  line("  of which: its data had arrived", data);
  line(`the checks page (100 of ${checkCount.toLocaleString("en")} checks)`, checksView);
  line("baseline: a static page of the same origin", blank);
  line("baseline: the raw GET /v1/overview", raw);
  line("GET /v1/checks, every check (from node)", checksMs);
  console.log(`target: first view < 1 s — ${median(firstView) < 1000 ? "met" : "NOT met"}`);
} finally {
  await cleanup();
}
