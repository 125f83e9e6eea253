import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createServer as createTlsServer } from "node:tls";
import { describe, it } from "node:test";
import { ManualClock } from "../../core/index.js";
import { defineCheck, Monitor, type CheckResult } from "../../monitor/index.js";
import { closed, listening, selfSignedCertificate } from "../../monitor/checks/test-support.js";
import { SqliteStore } from "../../store/index.js";
import type { AlertSignal } from "../types.js";
import { CheckAlerts, checkDownSignal, onlyCertificateExpiring } from "./check-alerts.js";

const result = (over: Partial<CheckResult>): CheckResult => ({ check: "c", ok: false, startedAt: 0, durationMs: 12, fields: {}, failed: [], ...over });

describe("alerts from checks", () => {
  it("maps a down check to check-down with its labels and severity, and a failing certificate expiry to certificate-expiring", () => {
    const down = checkDownSignal("api-health", { service: "api", environment: "production", component: "backend", severity: "ticket" }, result({ error: "connection refused" }));
    assert.deepEqual([down.rule, down.severity, down.active], ["check-down", "ticket", true]);
    assert.deepEqual(down.labels, { service: "api", environment: "production", component: "backend", check: "api-health" }, "severity is the signal's, not a label of it");
    assert.equal(down.annotations.summary, "check api-health is down: connection refused");
    assert.equal(checkDownSignal("x", {}, result({ failed: ["status == 200"] })).severity, "page", "page without a severity label");

    const days = (n: number) => ({ cert_expires: n * 86_400_000 });
    assert.equal(onlyCertificateExpiring(result({ failed: ["cert_expires > 14d"], fields: days(5), error: "failed: cert_expires > 14d" })), true);
    assert.equal(onlyCertificateExpiring(result({ failed: ["cert_expires > 14d", "status == 200"], fields: days(5) })), false, "a service down is down, whatever its certificate");
    assert.equal(onlyCertificateExpiring(result({ failed: [], error: "handshake failed" })), false, "the probe did not complete");
    assert.equal(onlyCertificateExpiring(result({ failed: ["cert_expires > 14d"], fields: days(-1) })), false, "an expired certificate is an outage");
    const expiring = checkDownSignal("site-cert", { service: "web", severity: "page" }, result({ failed: ["cert_expires > 14d"], fields: days(5) }));
    assert.deepEqual([expiring.rule, expiring.severity], ["certificate-expiring", "ticket"]);
  });

  it("follows a real monitor: an http check down and up again, a tls certificate expiring", async () => {
    const clock = new ManualClock();
    const store = new SqliteStore({ path: ":memory:", clock });
    await store.migrate();
    let status = 200;
    const http = createServer((_req, res) => res.writeHead(status).end("ok"));
    const httpPort = await listening(http);
    const tls = createTlsServer(await selfSignedCertificate(5), (socket) => socket.end());
    const tlsPort = await listening(tls);
    const monitor = new Monitor({ store, clock });
    const signals: AlertSignal[] = [];
    const source = new CheckAlerts({ monitor, sink: { report: (s) => signals.push(s) }, clock });
    try {
      const site = defineCheck("site", { type: "http", url: `http://127.0.0.1:${httpPort}/`, interval: "5s", failure_threshold: 2, recovery_threshold: 1, service: "web", environment: "production", labels: { component: "frontend" } }, { path: ["checks", "site"] });
      const cert = defineCheck("site-cert", { type: "tls", host: "127.0.0.1", port: tlsPort, tls_verify: false, conditions: ["cert_expires > 14d"], interval: "5s", failure_threshold: 1, service: "web" }, { path: ["checks", "site-cert"] });
      source.start();
      await monitor.start([site, cert]);
      const until = async (what: string, done: () => boolean) => {
        for (let i = 0; i < 200 && !done(); i++) {
          await clock.advance(500);
          await new Promise((r) => setTimeout(r, 10)); // the probes' real sockets
        }
        assert.ok(done(), `timed out waiting for ${what}: ${JSON.stringify(signals.map((s) => [s.rule, s.active]))}`);
      };
      await until("the certificate alert", () => signals.some((s) => s.rule === "certificate-expiring"));
      const expiring = signals.find((s) => s.rule === "certificate-expiring")!;
      assert.deepEqual([expiring.severity, expiring.labels.check, expiring.labels.service], ["ticket", "site-cert", "web"]);
      assert.equal(signals.some((s) => s.rule === "check-down"), false, "the site answers 200");

      status = 503;
      await until("check-down", () => signals.some((s) => s.rule === "check-down" && s.active));
      const down = signals.find((s) => s.rule === "check-down")!;
      assert.deepEqual(down.labels, { component: "frontend", service: "web", environment: "production", check: "site" });
      assert.equal(down.severity, "page");
      assert.match(down.annotations.summary, /check site is down: failed: status < 400/);

      status = 200;
      await until("check-down resolved", () => signals.some((s) => s.rule === "check-down" && !s.active));
      const resolved = signals.find((s) => s.rule === "check-down" && !s.active)!;
      assert.deepEqual(resolved.labels, down.labels, "the same alert resolves");
      assert.equal(signals.filter((s) => s.rule === "certificate-expiring" && !s.active).length, 0, "the certificate still expires soon");

      // The expiring certificate's server goes away: the check stays down, but now it is an outage.
      await closed(tls);
      await until("check-down of site-cert", () => signals.some((s) => s.rule === "check-down" && s.labels.check === "site-cert" && s.active));
      assert.ok(signals.some((s) => s.rule === "certificate-expiring" && !s.active), "the ticket gives way to the page");
      const outage = signals.find((s) => s.rule === "check-down" && s.labels.check === "site-cert")!;
      assert.deepEqual([outage.severity, outage.active], ["page", true]);

      // A restarted source reports the checks that are down already.
      await source.stop();
      const again: AlertSignal[] = [];
      const restarted = new CheckAlerts({ monitor, sink: { report: (s) => again.push(s) }, clock });
      restarted.start();
      assert.deepEqual(
        again.map((s) => [s.rule, s.labels.check, s.active]),
        [
          ["check-down", "site", false],
          ["certificate-expiring", "site", false],
          ["check-degraded", "site", false],
          ["check-down", "site-cert", true],
          ["check-degraded", "site-cert", false],
        ],
        "down checks fire again, the others are resolved (what an earlier engine left firing)",
      );

      // A check taken out of the config resolves its alert.
      monitor.set([site]);
      await until("the removed check's alert resolved", () => again.some((s) => s.rule === "check-down" && s.labels.check === "site-cert" && !s.active));
      await restarted.stop();
    } finally {
      await source.stop();
      await monitor.stop();
      await closed(http);
      if (tls.listening) await closed(tls);
      await store.close();
    }
  });
});
