import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { userInfo } from "node:os";
import { after, before, describe, it } from "node:test";
import { CliProject } from "../helpers/cli.js";
import { testConfig } from "../helpers/project.js";
import { waitFor } from "../helpers/wait.js";

interface AlertJson {
  id: string;
  rule: string;
  state: string;
  labels: Record<string, string>;
  acknowledged: boolean;
  ack: { by: string; until: number | null; comment: string | null } | null;
  outcome: { value: string; source: string; by: string | null; reason: string } | null;
}

const alertsConfig = (hookPort: number) => `channels:
  hook:
    type: webhook
    url: http://127.0.0.1:${hookPort}/alerts
alerts:
  default_rules: false
  route:
    group_wait: 1s
  silences:
    max_duration: 1d
`;

interface WebhookBody {
  status: string;
  receiver: string;
  groupLabels: Record<string, string>;
  alerts: { status: string; labels: Record<string, string> }[];
}

describe("engineroom alerts (CLI against a running engine)", () => {
  let p: CliProject;
  let hook: Server;
  const received: WebhookBody[] = [];
  const json = async <T>(args: string[]): Promise<T> => {
    const { code, out } = await p.run([...args, "--json"]);
    assert.equal(code, 0, out);
    return JSON.parse(out) as T;
  };

  before(async () => {
    hook = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        received.push(JSON.parse(body) as WebhookBody);
        res.end("ok");
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
    p = new CliProject(testConfig("", alertsConfig((hook.address() as AddressInfo).port)).replace("    instances: 2", "    artifact: ./app\n    instances: 1"));
    await p.up();
  });
  after(async () => {
    assert.deepEqual(await p.cleanup(), []);
    await new Promise((resolve) => hook.close(resolve));
  });

  it("shows the alert a rollback raised, acknowledges it as the OS user, and records a person's outcome", { timeout: 120_000 }, async () => {
    assert.deepEqual(await json<{ alerts: AlertJson[] }>(["alerts"]), { alerts: [] });
    assert.equal((await p.run(["deploy", "web", p.artifact({ version: "v1" })])).code, 0);
    assert.equal((await p.run(["deploy", "web", p.artifact({ version: "v2" })])).code, 0);
    const back = await p.run(["rollback", "web"]);
    assert.equal(back.code, 0, back.out);

    let alert: AlertJson | undefined;
    await waitFor("the release-rolled-back alert", async () => {
      alert = (await json<{ alerts: AlertJson[] }>(["alerts"])).alerts.find((a) => a.rule === "release-rolled-back");
      return alert !== undefined;
    }, 30_000);
    assert.equal(alert!.state, "firing");
    assert.equal(alert!.labels.service, "web");

    // One grouped notification reached the webhook after group_wait, and the delivery log shows it.
    await waitFor("the webhook notification", () => received.some((b) => b.groupLabels.alertname === "release-rolled-back"), 30_000);
    const sent = received.find((b) => b.groupLabels.alertname === "release-rolled-back")!;
    assert.deepEqual([sent.status, sent.receiver, sent.alerts.length, sent.alerts[0]!.labels.service], ["firing", "hook", 1, "web"]);
    const log = await json<{ deliveries: { channel: string; state: string; title: string }[] }>(["alerts", "deliveries"]);
    assert.ok(log.deliveries.some((d) => d.channel === "hook" && d.state === "delivered" && d.title.includes("release-rolled-back")), JSON.stringify(log));

    const table = await p.run(["alerts"]);
    assert.match(table.out, /id\s+rule\s+severity\s+state/);
    assert.match(table.out, new RegExp(`${alert!.id}\\s+release-rolled-back\\s+ticket\\s+firing`));

    const acked = await json<AlertJson>(["alerts", "ack", alert!.id, "--for", "1h", "--comment", "looking"]);
    assert.equal(acked.acknowledged, true);
    assert.equal(acked.ack!.by, userInfo().username);
    assert.equal(acked.ack!.comment, "looking");
    assert.ok(acked.ack!.until! > Date.now() + 59 * 60_000);

    const outcome = await json<AlertJson>(["alerts", "outcome", alert!.id, "actionable", "--reason", "the rollback fixed it"]);
    assert.deepEqual([outcome.outcome!.value, outcome.outcome!.source, outcome.outcome!.by], ["actionable", "person", userInfo().username]);

    const noise = await json<{ overall: { alerts: number; actionable: number }; target: number }>(["alerts", "noise", "--since", "1h"]);
    assert.equal(noise.target, 0.1);
    assert.ok(noise.overall.actionable >= 1);

    const missing = await p.run(["alerts", "ack", "alr_missing"]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.out, /ALERT_NOT_FOUND/);
  });

  it("adds, lists and expires a silence; refuses one without a reason or longer than max_duration", { timeout: 60_000 }, async () => {
    const noReason = await p.run(["alerts", "silence", "add", "--match", "service=web", "--for", "2h"]);
    assert.notEqual(noReason.code, 0);
    assert.match(noReason.out, /SILENCE_INVALID/);
    const tooLong = await p.run(["alerts", "silence", "add", "--match", "service=web", "--reason", "x", "--for", "2d"]);
    assert.match(tooLong.out, /SILENCE_INVALID.*2d is longer than the longest silence, 1d/);

    const created = await json<{ id: string; createdBy: string; matchers: string[] }>(["alerts", "silence", "add", "--match", "service=web", "--match", "severity!=page", "--reason", "maintenance", "--for", "2h"]);
    assert.deepEqual(created.matchers, ["service=web", "severity!=page"]);
    assert.equal(created.createdBy, userInfo().username);
    const listed = await json<{ silences: { id: string; expiredAt: number | null }[] }>(["alerts", "silence", "list"]);
    assert.equal(listed.silences.find((s) => s.id === created.id)?.expiredAt, null);
    const expired = await p.run(["alerts", "silence", "expire", created.id]);
    assert.equal(expired.code, 0, expired.out);
    const after = await json<{ silences: { id: string; expiredReason: string | null }[] }>(["alerts", "silence", "list"]);
    assert.equal(after.silences.find((s) => s.id === created.id)?.expiredReason, `expired by ${userInfo().username}`);
    const unknown = await p.run(["alerts", "silence", "expire", "sil_missing"]);
    assert.match(unknown.out, /SILENCE_NOT_FOUND/);
    // Its creation and its expiry were both notified.
    await waitFor("the silence notices", () => received.filter((b) => JSON.stringify(b).includes(created.id)).length === 2, 10_000);
    const deliveries = await p.run(["alerts", "deliveries", "--limit", "2"]);
    assert.match(deliveries.out, /time\s+channel\s+state\s+attempts/);
    assert.match(deliveries.out, new RegExp(`hook\\s+delivered\\s+1\\s+200\\s+Silence ${created.id} expired`));
  });
});
