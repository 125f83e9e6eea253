import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { after, before, describe, it } from "node:test";
import dnsPacket from "dns-packet";
import { runCheck } from "../run.js";
import { check } from "../test-support.js";

const now = Date.now;

/** A tiny authoritative DNS server: answers from this table, NXDOMAIN for other names, silence for `hang.test`. */
const zone: Record<string, dnsPacket.Answer[]> = {
  "web.test/A": [
    { type: "A", name: "web.test", ttl: 60, data: "10.0.0.1" },
    { type: "A", name: "web.test", ttl: 60, data: "10.0.0.2" },
  ],
  "web.test/MX": [{ type: "MX", name: "web.test", ttl: 60, data: { preference: 10, exchange: "mail.web.test" } }],
  "web.test/TXT": [{ type: "TXT", name: "web.test", ttl: 60, data: ["v=spf1 ", "-all"] }],
};

describe("dns checks", () => {
  let socket: Socket;
  let server: string;

  before(async () => {
    socket = createSocket("udp4");
    socket.on("message", (message, peer) => {
      const query = dnsPacket.decode(message);
      const question = query.questions![0]!;
      if (question.name === "hang.test") return;
      const answers = zone[`${question.name}/${question.type}`];
      const known = Object.keys(zone).some((key) => key.startsWith(`${question.name}/`));
      const response = dnsPacket.encode({ type: "response", id: query.id, flags: known ? dnsPacket.AUTHORITATIVE_ANSWER : 3, questions: [question], answers: answers ?? [] });
      socket.send(response, peer.port, peer.address);
    });
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    server = `127.0.0.1:${socket.address().port}`;
  });
  after(() => socket.close());

  it("counts and lists the answers of an A query", async () => {
    const result = await runCheck(check({ type: "dns", name: "web.test", server, conditions: ["answer_count == 2", 'answers contains "10.0.0.2"'] }), { now });
    assert.equal(result.ok, true, result.error);
    assert.equal(result.fields.answers, "10.0.0.1,10.0.0.2");
  });

  it("writes MX and TXT answers out", async () => {
    const mx = await runCheck(check({ type: "dns", name: "web.test", record_type: "MX", server }), { now });
    assert.equal(mx.ok, true, mx.error);
    assert.equal(mx.fields.answers, "10 mail.web.test");
    const txt = await runCheck(check({ type: "dns", name: "web.test", record_type: "TXT", server }), { now });
    assert.equal(txt.fields.answers, "v=spf1 -all");
  });

  it("answers 0 for an unknown name or a type with no record, which the default condition fails", async () => {
    for (const config of [{ name: "nowhere.test" }, { name: "web.test", record_type: "AAAA" }]) {
      const result = await runCheck(check({ type: "dns", server, ...config }), { now });
      assert.equal(result.error, "failed: answer_count > 0 (answer_count was 0)");
      assert.equal(result.fields.answer_count, 0);
    }
  });

  it("times out a server that never answers", async () => {
    const started = performance.now();
    const result = await runCheck(check({ type: "dns", name: "hang.test", server, interval: "1s", timeout: "300ms" }), { now });
    assert.equal(result.ok, false);
    assert.equal(result.error, "timed out after 300ms");
    assert.ok(performance.now() - started < 400);
  });
});
