/**
 * For tests: a control socket that speaks the data plane's protocol as scripted. It answers hello
 * and metrics.subscribe like a data plane, the ops it is told to, and nothing else: the other
 * requests get no answer while the connection stays open, as from a daemon that was SIGSTOPped or a
 * link cut behind an ssh forward.
 */
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { jsonLines } from "./protocol.js";

type Handler = (request: Record<string, unknown>) => unknown;

export class ScriptedDataPlane {
  readonly path: string;
  readonly #server: Server;
  readonly connections = new Set<Socket>();
  /** Connections ever accepted, and how many of them the client closed. */
  accepted = 0;
  closedByClient = 0;
  /** Whether hello gets an answer. */
  answerHello = true;
  /** Ops answered, with what (default `{ answered: op }`). */
  readonly answers = new Map<string, Handler>();
  /** Ops answered so after this many ms: a busy data plane that still answers pings. */
  readonly slow = new Map<string, number>();
  /** Every request received but hello, in order. */
  readonly received: Record<string, unknown>[] = [];

  constructor(dir: string, name = "control") {
    this.path = join(dir, `${name}.sock`);
    this.#server = createServer((socket) => this.#serve(socket));
  }

  /** Answers `op` from now on, with `result(request)` (default `{ answered: op }`). */
  answer(op: string, result: Handler = () => ({ answered: op })): this {
    this.answers.set(op, result);
    return this;
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.#server.listen(this.path, resolve));
  }

  close(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #serve(socket: Socket): void {
    this.accepted++;
    this.connections.add(socket);
    socket.on("error", () => {});
    socket.on("end", () => this.closedByClient++);
    socket.on("close", () => this.connections.delete(socket));
    socket.on(
      "data",
      jsonLines((value) => {
        const request = value as Record<string, unknown> & { id: number; op: string };
        const reply = (result: unknown) => socket.write(JSON.stringify({ id: request.id, ok: true, result }) + "\n");
        if (request.op === "hello") {
          if (this.answerHello) reply({ pid: process.pid, version: "test", bootId: "boot", startedAt: new Date().toISOString(), proxies: [] });
          return;
        }
        this.received.push(request);
        const handler = this.answers.get(request.op);
        if (request.op === "metrics.subscribe") reply({ bootId: "boot" });
        else if (handler) reply(handler(request));
        else if (this.slow.has(request.op)) setTimeout(() => reply({ answered: request.op }), this.slow.get(request.op));
      }),
    );
  }
}
