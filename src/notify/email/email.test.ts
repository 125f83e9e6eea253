import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { generate } from "selfsigned";
import { SMTPServer, type SMTPServerOptions } from "smtp-server";
import { ManualClock, Redactor } from "../../core/index.js";
import { Notifier } from "../notifier.js";
import { createChannels, parseChannelsConfig } from "../registry.js";
import { eventually, sampleNotification, t0 } from "../test-support.js";
import type { Delivery } from "../types.js";

const password = "smtp-pa55word-4e1f9a7c";

interface Received {
  raw: string;
  secure: boolean;
  user: unknown;
}

interface Smtp {
  port: number;
  received: Received[];
  /** Passwords the server was offered, to show a failing login did reach it. */
  offered: string[];
  /** The AUTH mechanism of each login. */
  methods: string[];
  close(): Promise<void>;
}

async function startSmtp(options: SMTPServerOptions & { refuseFirst?: number }): Promise<Smtp> {
  const received: Received[] = [];
  const offered: string[] = [];
  const methods: string[] = [];
  let refusals = options.refuseFirst ?? 0;
  const server = new SMTPServer({
    logger: false,
    authMethods: ["PLAIN"],
    onAuth(auth, _session, callback) {
      offered.push(auth.password ?? "");
      methods.push(auth.method);
      if (auth.username === "alerts" && auth.password === password) return callback(null, { user: "alerts" });
      callback(Object.assign(new Error("Invalid username or password"), { responseCode: 535 }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        if (refusals-- > 0) return callback(Object.assign(new Error("Try again later"), { responseCode: 451 }));
        received.push({ raw: Buffer.concat(chunks).toString("utf8"), secure: session.secure, user: session.user });
        callback();
      });
    },
    ...options,
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  return { port, received, offered, methods, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe("email channel", () => {
  let cert: string;
  let key: string;
  let starttls: Smtp;
  let implicit: Smtp;
  let flaky: Smtp;
  let noTls: Smtp;
  const notifiers: Notifier[] = [];

  before(async () => {
    const pems = await generate([{ name: "commonName", value: "localhost" }], {
      keySize: 2048,
      algorithm: "sha256",
      extensions: [{ name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }, { type: 7, ip: "127.0.0.1" }] }],
    } as never);
    [cert, key] = [pems.cert, pems.private];
    starttls = await startSmtp({ key, cert });
    implicit = await startSmtp({ key, cert, secure: true });
    flaky = await startSmtp({ key, cert, refuseFirst: 1 });
    noTls = await startSmtp({ hideSTARTTLS: true, allowInsecureAuth: true, authOptional: true });
  });
  after(async () => {
    await Promise.all(notifiers.map((n) => n.close()));
    await Promise.all([starttls, implicit, flaky, noTls].map((s) => s?.close()));
  });

  function setup(options: Record<string, unknown>, secret = password) {
    const clock = new ManualClock(t0);
    const redactor = new Redactor();
    redactor.add("smtp_password", secret);
    const config = parseChannelsConfig({
      mail: { type: "email", host: "127.0.0.1", username: "alerts", password: { secret: "smtp_password" }, from: "Engineroom <alerts@example.test>", to: ["ops@example.test", "ana@example.test"], ...options },
    });
    const channels = createChannels(config, { "channels.mail.password": secret }, { clock });
    const deliveries: Delivery[] = [];
    const notifier = new Notifier({ channels, clock, onDelivery: (d) => deliveries.push(d), redactor });
    notifiers.push(notifier);
    return { notifier, deliveries, clock };
  }

  it("sends over STARTTLS with AUTH PLAIN, verifying the server against a given CA: subject, plain text and HTML", async () => {
    const { notifier } = setup({ port: starttls.port, ca: cert });
    const delivery = await notifier.send("mail", sampleNotification());
    assert.equal(delivery.state, "delivered", delivery.lastError ?? "");
    assert.equal(delivery.lastStatus, 250);
    const [mail] = starttls.received;
    assert.ok(mail);
    assert.equal(mail.secure, true, "upgraded with STARTTLS before anything was sent");
    assert.equal(mail.user, "alerts");
    assert.deepEqual(starttls.methods, ["PLAIN"]);
    assert.match(mail.raw, /^Subject: \[FIRING:2\] check-down \(production\)\r?$/m);
    assert.match(mail.raw, /^To: ops@example\.test, ana@example\.test\r?$/m);
    assert.match(mail.raw, /Content-Type: multipart\/alternative/);
    assert.match(mail.raw, /Content-Type: text\/plain/);
    assert.match(mail.raw, /Content-Type: text\/html/);
    assert.match(mail.raw, /FIRING {2}web is down in production/);
    assert.match(mail.raw, /<b>web is down in production<\/b>/);
    assert.ok(!mail.raw.includes(password));
  });

  it("sends over implicit TLS", async () => {
    const { notifier } = setup({ port: implicit.port, secure: true, tls_verify: false });
    const delivery = await notifier.send("mail", sampleNotification({ kind: "notice", alerts: [], title: "Silence expired", text: "service=web", status: "resolved" }));
    assert.equal(delivery.state, "delivered", delivery.lastError ?? "");
    assert.equal(implicit.received.length, 1);
    assert.equal(implicit.received[0]!.secure, true);
    assert.match(implicit.received[0]!.raw, /^Subject: Silence expired\r?$/m);
  });

  it("refuses a certificate it cannot verify, permanently", async () => {
    const { notifier } = setup({ port: starttls.port });
    const delivery = await notifier.send("mail", sampleNotification());
    assert.equal(delivery.state, "failed");
    assert.equal(delivery.attempts, 1);
    assert.match(delivery.lastError!, /channel mail \(SMTP\).*(self.signed|certificate)/i);
  });

  it("fails a wrong password permanently, with an error free of the password in every form", async () => {
    const wrong = "wrong-pa55word-77c0ffee";
    const { notifier, deliveries } = setup({ port: starttls.port, ca: cert }, wrong);
    const delivery = await notifier.send("mail", sampleNotification());
    assert.equal(delivery.state, "failed");
    assert.equal(delivery.attempts, 1);
    assert.equal(delivery.lastStatus, 535);
    assert.match(delivery.lastError!, /authentication failed/);
    assert.ok(starttls.offered.includes(wrong), "the server was offered the password");
    const forms = [wrong, Buffer.from(wrong).toString("base64"), Buffer.from(`\0alerts\0${wrong}`).toString("base64")];
    for (const d of [...deliveries, delivery]) for (const form of forms) assert.ok(!JSON.stringify(d).includes(form));
  });

  it("retries an SMTP 4xx reply", async () => {
    const { notifier, deliveries, clock } = setup({ port: flaky.port, ca: cert });
    const sent = notifier.send("mail", sampleNotification());
    await eventually("the 451", () => deliveries.some((d) => d.attempts === 1), 10_000);
    const pending = deliveries.find((d) => d.attempts === 1)!;
    assert.equal(pending.state, "pending");
    assert.equal(pending.lastStatus, 451);
    await clock.advance(1_000);
    const delivery = await sent;
    assert.equal(delivery.state, "delivered");
    assert.equal(delivery.attempts, 2);
    assert.equal(flaky.received.length, 1);
  });

  it("with starttls: require never sends in clear; opportunistic does when the server offers no TLS", async () => {
    const strict = setup({ port: noTls.port, username: undefined, password: undefined });
    const refused = strict.notifier.send("mail", sampleNotification());
    await eventually("the refusal", () => strict.deliveries.some((d) => d.attempts === 1), 10_000);
    assert.equal(noTls.received.length, 0);
    await strict.notifier.close();
    assert.equal((await refused).state, "failed");

    const loose = setup({ port: noTls.port, username: undefined, password: undefined, starttls: "opportunistic" });
    const delivery = await loose.notifier.send("mail", sampleNotification());
    assert.equal(delivery.state, "delivered", delivery.lastError ?? "");
    assert.equal(noTls.received[0]!.secure, false);
  });
});
