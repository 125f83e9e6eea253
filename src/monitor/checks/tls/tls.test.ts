import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createServer, type Server } from "node:tls";
import { runCheck } from "../run.js";
import { check, closed, listening, selfSignedCertificate } from "../test-support.js";

const now = Date.now;
const day = 86_400_000;

describe("tls checks", () => {
  let soon: Server;
  let later: Server;
  let soonPort: number;
  let laterPort: number;

  before(async () => {
    soon = createServer(await selfSignedCertificate(5), (socket) => socket.end());
    later = createServer(await selfSignedCertificate(90), (socket) => socket.end());
    soonPort = await listening(soon);
    laterPort = await listening(later);
  });
  after(async () => {
    await closed(soon);
    await closed(later);
  });

  it("fails a certificate expiring in 5 days on the default `cert_expires > 14d`", async () => {
    const result = await runCheck(check({ type: "tls", host: "127.0.0.1", port: soonPort, tls_verify: false }), { now });
    assert.equal(result.ok, false);
    assert.ok(result.failed.includes("cert_expires > 14d"), result.error);
    const left = result.fields.cert_expires as number;
    assert.ok(left > 4.9 * day && left <= 5 * day, `cert_expires ${left}`);
  });

  it("passes a certificate with 90 days left, and says the self-signed chain is not valid", async () => {
    const result = await runCheck(check({ type: "tls", host: "127.0.0.1", port: laterPort, tls_verify: false, conditions: ["cert_expires > 14d"] }), { now });
    assert.equal(result.ok, true, result.error);
    assert.equal(result.fields.cert_valid, false);
  });

  it("fails an untrusted certificate as an error when it verifies, still reading its expiry", async () => {
    const result = await runCheck(check({ type: "tls", host: "127.0.0.1", port: laterPort }), { now });
    assert.equal(result.ok, false);
    assert.equal(result.error, `TLS certificate of 127.0.0.1:${laterPort} is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT)`);
    assert.ok((result.fields.cert_expires as number) > 89 * day);
  });

  it("defaults the port to 443 and the servername to the host", () => {
    assert.equal(check({ type: "tls", host: "example.com" }).probe.target, "example.com:443");
  });
});
