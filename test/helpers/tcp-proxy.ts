/**
 * A TCP proxy a test puts between a client and a server (e.g. an engine and PostgreSQL), to cut the
 * link and give it back: `cut()` destroys every connection through it and refuses new ones until
 * `restore()`.
 */
import { randomBytes } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import type { Clock } from "../../src/core/index.js";
import { PostgresStore } from "../../src/store/index.js";
import { adminQuery } from "../../src/store/test-support.js";

export interface TcpProxy {
  /** The port to dial instead of the server's, on 127.0.0.1. */
  port: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let open = true;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    if (!open) return void client.destroy();
    const upstream = connect(target.port, target.host);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const cut = () => {
    open = false;
    for (const socket of sockets) socket.destroy();
  };
  return {
    port,
    cut,
    restore: () => void (open = true),
    close: async () => {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `url` with its host and port replaced by the proxy's. */
export function throughProxy(url: string, proxy: TcpProxy): string {
  const parsed = new URL(url);
  parsed.hostname = "127.0.0.1";
  parsed.port = String(proxy.port);
  return parsed.toString();
}

/**
 * Two PostgresStores on one new schema of `url`, as two engines would hold them: `a` reaches the
 * database through a TcpProxy (to cut its link), `b` directly. `cleanup` closes both and drops the schema.
 */
export async function storesOnOneSchema(url: string, clock: Clock, prefix: string) {
  const schema = `${prefix}_${randomBytes(6).toString("hex")}`;
  const target = new URL(url);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const b = new PostgresStore({ url, clock, schema });
  await b.migrate();
  const a = new PostgresStore({ url: throughProxy(url, proxy), clock, schema, connectTimeoutMs: 2_000 });
  return {
    a,
    b,
    proxy,
    cleanup: async () => {
      await a.close().catch(() => {});
      await b.close();
      await proxy.close();
      await adminQuery(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
}
