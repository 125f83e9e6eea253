import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SMTPServer } from "smtp-server";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";
import { waitFor } from "../helpers/wait.js";
import { freePort } from "../helpers/ports.js";

/**
 * The monitoring chain end to end, over real parts: a deployed app stops answering → its check goes
 * down after its threshold → one grouped notification reaches each channel (a webhook receiver that
 * verifies the HMAC, a Slack-compatible receiver, a real SMTP server) once → the app comes back → a
 * resolved notification; a silence (reason and expiry required) suppresses, then expires with a
 * notice. No secret reaches any answer.
 */

interface Received {
  channel: "hook" | "chat" | "mail";
  status: string;
  alertnames: string[];
  /** `alerts`, or `notice` (a silence's, or an incident's: incidents notify every channel too). */
  kind: string;
  /** For notices: `silence.created`, `silence.expired`, `incident.opened`…; the webhook says so, the others by their text. */
  reason: string;
  text: string;
}

/** A header's value with its folded lines joined and RFC 2047 encoded words (=?UTF-8?Q?…?=, =?UTF-8?B?…?=) decoded. */
function decodeHeader(raw: string): string {
  return raw
    .replace(/\r?\n[ \t]+/g, " ")
    .replace(/\?=\s+=\?/g, "?==?")
    .replace(/=\?UTF-8\?([QB])\?([^?]*)\?=/gi, (_, encoding: string, text: string) =>
      encoding.toUpperCase() === "B"
        ? Buffer.from(text, "base64").toString("utf8")
        : Buffer.from(text.replace(/_/g, " ").replace(/=([0-9A-F]{2})/gi, (__, hex: string) => String.fromCharCode(parseInt(hex, 16))), "latin1").toString("utf8"),
    );
}

/** What a notice is about, from a Slack message's or an email's text. */
const noticeReason = (text: string) => (/silence/i.test(text) ? (/expired|ended/i.test(text) ? "silence.expired" : "silence.created") : /incident/i.test(text) ? "incident" : "other");

const hookKey = "hmac-key-0f9e8d7c6b5a";
const smtpPassword = "smtp-pass-1a2b3c4d5e";


function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}

describe("monitoring, end to end: check → alert → channels → resolved; silences", () => {
  let p: TestProject;
  const received: Received[] = [];
  const badSignatures: string[] = [];
  let hook: Server;
  let chat: Server;
  let smtp: SMTPServer;
  let outage: string;

  before(async () => {
    hook = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        const timestamp = String(req.headers["x-engineroom-timestamp"] ?? "");
        const expected = "sha256=" + createHmac("sha256", hookKey).update(`${timestamp}.`).update(body).digest("hex");
        if (req.headers["x-engineroom-signature"] !== expected) badSignatures.push(String(req.headers["x-engineroom-signature"]));
        const json = JSON.parse(body.toString("utf8"));
        received.push({
          channel: "hook",
          status: json.status,
          alertnames: json.alerts.map((a: { labels: Record<string, string> }) => a.labels.alertname),
          kind: json.engineroom?.kind ?? "alerts",
          reason: json.engineroom?.reason ?? "",
          text: body.toString("utf8"),
        });
        res.writeHead(200).end("ok");
      });
    });
    chat = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const json = JSON.parse(text);
        // The fallback text starts with the state at a glance: 🔴 FIRING, ✅ RESOLVED, or 📣 for a notice.
        const notice = String(json.text).startsWith("📣");
        const resolved = /RESOLVED/.test(json.text);
        received.push({ channel: "chat", status: resolved ? "resolved" : "firing", alertnames: [...new Set(text.match(/check-down/g) ?? [])], kind: notice ? "notice" : "alerts", reason: notice ? noticeReason(text) : "", text });
        res.writeHead(200).end("ok");
      });
    });
    smtp = new SMTPServer({
      authOptional: false,
      allowInsecureAuth: true,
      disabledCommands: ["STARTTLS"],
      onAuth(auth, _session, callback) {
        if (auth.username === "alerts" && auth.password === smtpPassword) return callback(null, { user: "alerts" });
        callback(new Error("bad credentials"));
      },
      onData(stream, _session, callback) {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const subject = decodeHeader(/^Subject: (.*(?:\r?\n[ \t].*)*)/m.exec(text)?.[1] ?? "");
          // An alert group's subject is Alertmanager-like, "[FIRING:1] check-down …" / "[RESOLVED] …"; anything else is a notice.
          const alerts = /^\[(FIRING|RESOLVED)/.test(subject);
          received.push({ channel: "mail", status: /^\[RESOLVED/.test(subject) ? "resolved" : "firing", alertnames: [...new Set(subject.match(/check-down/g) ?? [])], kind: alerts ? "alerts" : "notice", reason: alerts ? "" : noticeReason(subject), text });
          callback();
        });
      },
    });
    const [hookPort, chatPort, proxyPort] = [await listen(hook), await listen(chat), await freePort()];
    const smtpPort = await new Promise<number>((resolve) => smtp.listen(0, "127.0.0.1", () => resolve((smtp.server.address() as AddressInfo).port)));

    const top = `secrets:
  providers:
    files: { type: file, dir: ./secrets }
checks:
  web-home:
    type: http
    url: http://127.0.0.1:${proxyPort}/
    interval: 1s
    timeout: 800ms
    failure_threshold: 3
    recovery_threshold: 2
    conditions: ["status == 200", 'body contains "hello"']
    service: web
    environment: production
channels:
  hook:
    type: webhook
    url: http://127.0.0.1:${hookPort}/alerts
    hmac_secret: { secret: hook-key }
  chat:
    type: slack
    url: http://127.0.0.1:${chatPort}/services/T0TEST/B0TEST/e2e-webhook-token
  mail:
    type: email
    host: 127.0.0.1
    port: ${smtpPort}
    starttls: opportunistic
    username: alerts
    password: { secret: smtp-password }
    from: Engineroom <engineroom@example.test>
    to: [oncall@example.test]
alerts:
  default_rules: false
  route:
    group_by: [alertname, service, environment]
    group_wait: 1s
    group_interval: 2s
    repeat_interval: 1h
`;
    p = await startProject(testConfig("", top).replace("listen: 127.0.0.1:0\napi:", `listen: 127.0.0.1:${proxyPort}\napi:`), {
      beforeStart: (dir) => {
        mkdirSync(join(dir, "secrets"), { recursive: true });
        writeFileSync(join(dir, "secrets", "hook-key"), hookKey);
        writeFileSync(join(dir, "secrets", "smtp-password"), smtpPassword);
      },
    });
    outage = join(p.dir, "outage");
    await p.api.stream(`/v1/services/web/deploys`, { artifact: p.artifact({ version: "v1", failFile: outage }) }, () => {});
  });

  after(async () => {
    await p?.cleanup();
    await new Promise<void>((resolve) => hook?.close(() => resolve()));
    await new Promise<void>((resolve) => chat?.close(() => resolve()));
    await new Promise<void>((resolve) => smtp?.close(() => resolve()));
  });

  const checkState = async (name: string) => {
    const { checks } = await p.api.get<{ checks: { name: string; state: string }[] }>("/v1/checks");
    return checks.find((c) => c.name === name)?.state;
  };
  const firing = (channel: Received["channel"]) => received.filter((r) => r.channel === channel && r.kind === "alerts" && r.status === "firing" && r.alertnames.includes("check-down"));
  const resolved = (channel: Received["channel"]) => received.filter((r) => r.channel === channel && r.kind === "alerts" && r.status === "resolved" && r.alertnames.includes("check-down"));
  const channels = ["hook", "chat", "mail"] as const;

  it("an outage turns the check down after its threshold and reaches each channel once, grouped", async () => {
    await waitFor("web-home up", async () => (await checkState("web-home")) === "up", 15_000);
    writeFileSync(outage, "");
    const start = Date.now();
    await waitFor("web-home down", async () => (await checkState("web-home")) === "down", 10_000);
    // Three failures, a second apart: not before the threshold.
    assert.ok(Date.now() - start >= 1_900, `down after ${Date.now() - start} ms, before its threshold of 3 failures`);
    await waitFor("a firing notification on every channel", () => channels.every((c) => firing(c).length > 0), 15_000);
    // Longer than group_interval: an unchanged group is not sent again before repeat_interval.
    await new Promise((r) => setTimeout(r, 3_000));
    for (const channel of channels) assert.equal(firing(channel).length, 1, `${channel}: ${JSON.stringify(firing(channel).map((r) => r.status))}`);
    assert.deepEqual(badSignatures, [], "every webhook carries a valid HMAC signature");
    const { alerts } = await p.api.get<{ alerts: { rule: string; state: string; labels: Record<string, string> }[] }>("/v1/alerts");
    const alert = alerts.find((a) => a.rule === "check-down" && a.labels.check === "web-home");
    assert.equal(alert?.state, "firing");
  });

  it("the app comes back: the check is up after its recovery threshold and each channel gets a resolved notification", async () => {
    rmSync(outage);
    await waitFor("web-home up again", async () => (await checkState("web-home")) === "up", 10_000);
    await waitFor("a resolved notification on every channel", () => channels.every((c) => resolved(c).length === 1), 15_000);
  });

  it("a silence needs a reason and an expiry, suppresses the alert, then expires with a notice", async () => {
    const refused = await p.api.post("/v1/silences", { matchers: ["check=web-home"], for: "3s" }).then(
      () => undefined,
      (error: { code?: string }) => error,
    );
    assert.equal(refused?.code, "SILENCE_INVALID");
    const before = received.length;
    const silence = await p.api.post<{ id: string }>("/v1/silences", { matchers: ["check=web-home"], reason: "planned maintenance of web", for: "8s", by: "e2e" });
    const silenceNotices = () => received.slice(before).filter((r) => r.channel === "hook" && r.kind === "notice" && r.reason.startsWith("silence."));
    await waitFor("a notice of the silence on the webhook", () => silenceNotices().some((r) => r.reason === "silence.created"), 10_000);
    const firingBefore = firing("hook").length;
    writeFileSync(outage, "");
    await waitFor("web-home down", async () => (await checkState("web-home")) === "down", 10_000);
    await new Promise((r) => setTimeout(r, 1_500)); // past group_wait
    assert.equal(firing("hook").length, firingBefore, "a silenced alert is not notified");
    const { silences } = await p.api.get<{ silences: { id: string; state?: string; endsAt: number }[] }>("/v1/silences");
    assert.ok(silences.some((s) => s.id === silence.id));
    await waitFor("a notice that the silence expired", () => silenceNotices().some((r) => r.reason === "silence.expired"), 15_000);
    // Once the silence is gone the alert that still fires is notified at once, not a repeat_interval later.
    await waitFor("the alert notified after the silence", () => firing("hook").length === firingBefore + 1, 10_000);
    rmSync(outage);
    await waitFor("web-home up again", async () => (await checkState("web-home")) === "up", 10_000);
  });

  it("no secret reaches a notification, an answer or a file of the project", async () => {
    for (const r of received) {
      assert.ok(!r.text.includes(hookKey) && !r.text.includes(smtpPassword), `${r.channel} carried a secret`);
    }
    const answers = JSON.stringify([await p.api.get("/v1/alerts?all=1"), await p.api.get("/v1/alerts/deliveries"), await p.api.get("/v1/checks"), await p.api.get("/v1/events?limit=500")]);
    assert.ok(!answers.includes(hookKey) && !answers.includes(smtpPassword));
    const walk = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
    for (const file of walk(join(p.dir, ".engineroom")).filter((f) => existsSync(f) && statSync(f).isFile() && statSync(f).size < 50_000_000)) {
      const text = readFileSync(file).toString("latin1");
      assert.ok(!text.includes(hookKey) && !text.includes(smtpPassword), `${file} holds a secret`);
    }
  });
});
