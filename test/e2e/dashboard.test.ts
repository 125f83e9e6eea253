import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { chromium, type Browser, type Page } from "playwright-core";
import { createApi } from "../../src/api/index.js";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";
import { waitFor } from "../helpers/wait.js";
import { chromiumArgs } from "../helpers/browser.js";

const chromiumPath = "/usr/bin/chromium";
const artifacts = resolve(import.meta.dirname, "../../test-artifacts/dashboard");
const missing = existsSync(chromiumPath) ? false : `${chromiumPath} is absent: install Debian's chromium (apt-get install chromium) to run the dashboard's browser tests`;
if (missing) console.log(`# skipped: ${missing}`);

// A webhook channel for the alert a rollback raises; silences at most 7 days (the default).
const top = (hookPort: number) => `dashboard:
  public_status: true
channels:
  hook: { type: webhook, url: "http://127.0.0.1:${hookPort}/alerts" }
alerts:
  default_rules: false
slos:
  web-availability: { service: web, kind: availability, target: 99.9, window: 30d }
`;

/** The dashboard in a real browser (Debian's chromium through playwright-core) against a real engine and its API. */
describe("web dashboard", { skip: missing }, () => {
  let project: TestProject;
  let browser: Browser;
  let page: Page;
  let hook: Server;
  let base: string;
  let api: FastifyInstance;
  const shot = (name: string) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });

  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    hook = createServer((req, res) => req.resume().on("end", () => res.end("ok")));
    await new Promise<void>((done) => hook.listen(0, "127.0.0.1", done));
    project = await startProject(testConfig("", top((hook.address() as AddressInfo).port)).replace("    instances: 2", "    instances: 1"));
    // The API as `engineroom up` serves it: with the engine's tokens and sessions (the helper's own API knows only the admin token).
    api = createApi({ engine: project.engine, token: project.token });
    await api.listen({ host: "127.0.0.1", port: 0 });
    base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  });

  after(async () => {
    await browser?.close();
    await api?.close();
    await project?.cleanup();
    await new Promise((done) => hook?.close(done));
  });

  it("refuses a wrong token at login, then logs in with the right one and shows the services", { timeout: 60_000 }, async () => {
    await page.goto(`${base}/`);
    await page.fill("input[name=token]", "not-the-token");
    await page.click("button[type=submit]");
    await page.waitForSelector(".error[data-code=API_UNAUTHORIZED]");
    await page.fill("input[name=token]", project.token);
    await page.click("button[type=submit]");
    await page.waitForSelector("#services tr[data-service=web]");
    assert.equal(await page.textContent("#project"), "test");
    // The token became a session: an HttpOnly cookie; the page keeps no copy of it.
    const cookies = await page.context().cookies();
    assert.equal(cookies.find((c) => c.name === "er_session")?.httpOnly, true, JSON.stringify(cookies.map((c) => c.name)));
    type Storage = { sessionStorage: Record<string, string>; localStorage: Record<string, string> };
    const stored = await page.evaluate(() => JSON.stringify([Object.values((globalThis as unknown as Storage).sessionStorage), Object.values((globalThis as unknown as Storage).localStorage)]));
    assert.ok(!String(stored).includes(project.token), "the token is kept by the page");
    await page.waitForSelector("#who:has-text('admin')");
    assert.match((await page.textContent("#services tr[data-service=web]"))!, /no live release/);
    await shot("01-services-empty");
  });

  it("shows a deploy go live and its watch window, then rolls back with one click and a confirmation", { timeout: 180_000 }, async () => {
    await project.api.stream("/v1/services/web/deploys", { artifact: project.artifact({ version: "v1" }) }, () => {});
    await page.goto(`${base}/#/service/web`);
    await page.waitForSelector("#live:has-text('v1')");
    // v2 is deployed while the page is open: it shows it go live, in its watch window.
    const deploy = project.api.stream("/v1/services/web/deploys", { artifact: project.artifact({ version: "v2" }) }, () => {});
    await page.waitForSelector("#live:has-text('v2')", { timeout: 60_000 });
    await deploy;
    await page.waitForSelector("#watch:has-text('v2 is in its watch window')");
    await page.waitForSelector("#releases tr[data-number='2']:has-text('first release'), #releases tr[data-number='2']:has-text('same config')");
    for (let i = 0; i < 20; i++) await fetch(`${project.proxyUrl}/`, { headers: { host: "localhost" } }).catch(() => {});
    await shot("02-service-watching");

    await page.click("#rollback");
    await page.waitForSelector("#modal:not([hidden]) >> text=from v2 to v1");
    await page.click("#modal-ok");
    await page.waitForSelector("#outcome .ok:has-text('v1 serves')", { timeout: 60_000 });
    await page.waitForSelector("#live:has-text('v1')");
    const live = await project.api.get<{ environments: { services: { live: { number: number } | null }[] }[] }>("/v1/status");
    assert.equal(live.environments[0]!.services[0]!.live?.number, 1);
    assert.match((await page.textContent("#releases tr[data-number='2']"))!, /rolled-back/);
    await shot("03-service-rolled-back");
  });

  it("silences the alert the rollback raised, with a reason and an expiry", { timeout: 120_000 }, async () => {
    await page.goto(`${base}/#/alerts`);
    const row = "tr:has-text('release-rolled-back')";
    await page.waitForSelector(`${row} form.silence`, { timeout: 60_000 });
    await page.fill(`${row} input[name=reason]`, "rolled back on purpose in the browser test");
    await page.fill(`${row} input[name=for]`, "1h");
    await page.click(`${row} form.silence button[type=submit]`);
    await page.waitForSelector("#outcome .ok:has-text('Silenced for 1h')");
    const { silences } = await project.api.get<{ silences: { reason: string; endsAt: number; startsAt: number; matchers: string[]; createdBy: string }[] }>("/v1/silences");
    assert.equal(silences.length, 1);
    assert.equal(silences[0]!.reason, "rolled back on purpose in the browser test");
    assert.equal(silences[0]!.endsAt - silences[0]!.startsAt, 3_600_000);
    assert.ok(silences[0]!.matchers.includes("service=web"), silences[0]!.matchers.join(", "));
    assert.equal(silences[0]!.createdBy, "admin", "recorded under the session's name (a created token's is ui:<name>, whatever the page sends)");
    await page.waitForSelector("text=rolled back on purpose in the browser test");
    await shot("04-alerts-silenced");
  });

  it("shows a bad silence's coded error and changes nothing", { timeout: 60_000 }, async () => {
    const row = "tr:has-text('release-rolled-back')";
    await page.waitForSelector(`${row} form.silence`);
    await page.fill(`${row} input[name=reason]`, "too long");
    await page.fill(`${row} input[name=for]`, "30d");
    await page.click(`${row} form.silence button[type=submit]`);
    await page.waitForSelector("#outcome .error[data-code=SILENCE_INVALID]");
    assert.equal((await project.api.get<{ silences: unknown[] }>("/v1/silences")).silences.length, 1);
  });

  it("shows a token without the rollback scope the ACCESS_DENIED message, and rolls nothing back", { timeout: 60_000 }, async () => {
    await project.api.stream("/v1/services/web/deploys", { artifact: project.artifact({ version: "v3" }) }, () => {});
    const { token } = await project.engine.tokens.create({ name: "viewer", scopes: ["read"] });
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    const viewer = await context.newPage();
    await viewer.goto(`${base}/`);
    await viewer.fill("input[name=token]", token);
    await viewer.click("button[type=submit]");
    await viewer.waitForSelector("#who:has-text('viewer')");
    await viewer.goto(`${base}/#/service/web`);
    await viewer.waitForSelector("#rollback:not([disabled]):has-text('Roll back to v1')");
    await viewer.click("#rollback");
    await viewer.click("#modal-ok");
    await viewer.waitForSelector("#outcome .error[data-code=ACCESS_DENIED]");
    assert.match((await viewer.textContent("#outcome"))!, /needs scope rollback:production/);
    await viewer.screenshot({ path: join(artifacts, "03b-access-denied.png") });
    await context.close();
    const live = await project.api.get<{ environments: { services: { live: { number: number } | null }[] }[] }>("/v1/status");
    assert.equal(live.environments[0]!.services[0]!.live?.number, 3);
  });

  it("queues an agent's deploy to production for a person, who approves it with one click", { timeout: 120_000 }, async () => {
    const { token } = await project.engine.tokens.create({ name: "agent", scopes: ["deploy:production"] });
    const artifact = project.artifact({ version: "v4" });
    const deploy = () => fetch(`${base}/v1/services/web/deploys`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ artifact }) });
    const refused = await deploy();
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "APPROVAL_REQUIRED");
    await page.goto(`${base}/#/approvals`);
    const row = "tr:has-text('deploy web into production')";
    await page.waitForSelector(`${row} >> text=pending`);
    await shot("06-approvals");
    await page.click(`${row} button:has-text('Approve')`);
    await page.waitForSelector("#modal:not([hidden]) >> text=asked for by agent");
    await page.click("#modal-ok");
    await page.waitForSelector("#outcome .ok:has-text('Approved')");
    await page.waitForSelector(`${row} >> text=granted`);
    const allowed = await deploy();
    assert.equal(allowed.status, 200);
    assert.match(await allowed.text(), /"result"/);
    const live = await project.api.get<{ environments: { services: { live: { number: number } | null }[] }[] }>("/v1/status");
    assert.equal(live.environments[0]!.services[0]!.live?.number, 4);
  });

  it("serves the checks, the SLOs and the report, and acknowledges an incident on its page", { timeout: 60_000 }, async () => {
    await page.goto(`${base}/#/checks`);
    await page.waitForSelector("table >> text=web");
    await page.goto(`${base}/#/slos`);
    await page.waitForSelector("tr:has-text('web-availability'):has-text('99.9% availability over 30d')");
    await page.goto(`${base}/#/report`);
    // (A function, not a string: the dashboard's CSP forbids eval.)
    type Doc = { document: { querySelector(selector: string): { srcdoc: string } | null } };
    await page.waitForFunction(() => (globalThis as unknown as Doc).document.querySelector("iframe.report")?.srcdoc.includes("Engineroom report"));
    // An incident opened by a person: its page shows the timeline and acknowledges it.
    const incident = await project.api.post<{ id: string }>("/v1/incidents", { title: "checkout is slow", service: "web", by: "dana" });
    await page.goto(`${base}/#/incidents`);
    await page.click("a:has-text('checkout is slow')");
    await page.waitForSelector("h1:has-text('checkout is slow')");
    await page.waitForSelector(".timeline li");
    await page.waitForSelector("#view >> text=No post-mortem yet");
    await page.click("button:has-text('Acknowledge')");
    await page.waitForSelector(".ok:has-text('Acknowledged')");
    const shown = await project.api.get<{ incident: { ack: { by: string } | null } }>(`/v1/incidents/${incident.id}`);
    assert.ok(shown.incident.ack, "acknowledged");
    await shot("07-incident");
  });

  it("serves the public status page without login, with nothing internal", { timeout: 60_000 }, async () => {
    const context = await browser.newContext();
    const anonymous = await context.newPage();
    await anonymous.goto(`${base}/status`);
    await anonymous.waitForSelector("h1:has-text('test status')");
    const text = (await anonymous.textContent("body"))!;
    assert.match(text, /web/);
    assert.doesNotMatch(text, /sha256|rel_|127\.0\.0\.1/);
    const json = await (await fetch(`${base}/status.json`)).text();
    assert.doesNotMatch(json, /sha256|rel_|127\.0\.0\.1|GREETING/);
    await anonymous.screenshot({ path: join(artifacts, "05-public-status.png") });
    await context.close();
    // The data behind the dashboard is not public.
    assert.equal((await fetch(`${base}/v1/overview`)).status, 401);
  });

  it("logs out", { timeout: 30_000 }, async () => {
    await page.goto(`${base}/#/`);
    await page.waitForSelector("#services");
    await page.click("#logout");
    await page.waitForSelector("input[name=token]");
    await page.reload();
    await page.waitForSelector("input[name=token]");
  });
});
