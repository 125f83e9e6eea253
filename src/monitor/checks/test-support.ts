import { createServer, type Server } from "node:net";
import { defineCheck } from "./config.js";
import type { CheckDefinition } from "./types.js";

/** Helpers for the tests of checks (and of what runs them): servers on 127.0.0.1, certificates. */

/** Starts a server on 127.0.0.1 and answers its port. */
export async function listening(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return (server.address() as { port: number }).port;
}

/** Closes a server and every connection it still holds. */
export async function closed(server: Server): Promise<void> {
  (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A port nothing listens on (one a server just gave back). */
export async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listening(server);
  await closed(server);
  return port;
}

/** A check named `t` at `checks.t`. */
export function check(config: Record<string, unknown>): CheckDefinition {
  return defineCheck("t", config, { path: ["checks", "t"] });
}

/** A self-signed certificate for 127.0.0.1 and localhost that expires in `days`. */
export async function selfSignedCertificate(days: number): Promise<{ key: string; cert: string }> {
  // Loaded here, not at the top: selfsigned is a development dependency, and this file is built too.
  const { generate } = await import("selfsigned");
  const notBeforeDate = new Date(Date.now() - 60_000);
  const pems = await generate([{ name: "commonName", value: "localhost" }], {
    keyType: "ec",
    algorithm: "sha256",
    notBeforeDate,
    notAfterDate: new Date(Date.now() + days * 86_400_000),
    extensions: [{ name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }, { type: 7, ip: "127.0.0.1" }] }],
  });
  return { key: pems.private, cert: pems.cert };
}
