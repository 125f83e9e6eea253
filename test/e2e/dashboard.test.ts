import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";
import { waitFor } from "../helpers/wait.js";

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
`;

/** The dashboard in a real browser (Debian's chromium through playwright-core) against a real engine and its API. */
describe("web dashboard", { skip: missing }, () => {
  let project: TestProject;
  let browser: Browser;
  let page: Page;
  let hook: Server;
  let base: string;
  const shot = (name: string) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });

  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    hook = createServer((req, res) => req.resume().on("end", () => res.end("ok")));
    await new Promise<void>((done) => hook.listen(0, "127.0.0.1", done));
    project = await startProject(testConfig("", top((hook.address() as AddressInfo).port)).replace("    instances: 2", "    instances: 1"));
    base = `http://${project.apiAddress}`;
    browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"], headless: true });
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  });

  after(async () => {
    await browser?.close();
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
    const { silences } = await project.api.get<{ silences: { reason: string; endsAt: number; startsAt: number; matchers: string[] }[] }>("/v1/silences");
    assert.equal(silences.length, 1);
    assert.equal(silences[0]!.reason, "rolled back on purpose in the browser test");
    assert.equal(silences[0]!.endsAt - silences[0]!.startsAt, 3_600_000);
    assert.ok(silences[0]!.matchers.includes("service=web"), silences[0]!.matchers.join(", "));
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

  it("serves the report, checks and incidents pages from the same API", { timeout: 60_000 }, async () => {
    await page.goto(`${base}/#/checks`);
    await page.waitForSelector("table >> text=web");
    await page.goto(`${base}/#/report`);
    await page.waitForFunction("document.querySelector('iframe.report')?.srcdoc.includes('Engineroom report')");
    await page.goto(`${base}/#/incidents`);
    await page.waitForSelector("h1:has-text('Incidents')");
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
