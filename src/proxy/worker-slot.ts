/**
 * One forked proxy worker as the controller sees it: the child process with its IPC channel and its
 * control pipe, what it has acknowledged, and whether it can take connections.
 */
import { fork, type ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { childExecArgv } from "../core/index.js";
import { isFromWorker, workerConfigEnv, type FromWorker, type ToWorker, type WorkerConfig } from "./messages.js";
import { FrameReader } from "./shared-table.js";
import type { Route } from "./types.js";

// The worker sits beside this file with the same extension: .ts under tsx (workers get the
// engine's loader flags, see workerExecArgv), .js in the compiled dist/.
const here = fileURLToPath(import.meta.url);
const workerFile = join(dirname(here), `worker${extname(here)}`);

/** The engine's node flags, for the workers (`--import tsx` under the tests): core's childExecArgv. */
export const workerExecArgv = childExecArgv;

/** A route table as the controller sends it: encoded once per apply, written to every worker. */
export interface OutgoingTable {
  version: number;
  routes: Route[];
  /** The control-pipe frame; undefined when tables go over IPC. */
  frame: Buffer | undefined;
}

export interface SlotEvents {
  message(slot: WorkerSlot, message: FromWorker): void;
  /** After an acknowledgement moved `ackedVersion`. */
  ack(slot: WorkerSlot): void;
  exit(slot: WorkerSlot, code: number | null, signal: string | null): void;
}

export class WorkerSlot {
  readonly child: ChildProcess;
  readonly forkedAt = Date.now();
  readonly #control: Socket | undefined;
  /** The worker has its IPC listener; connections sent from now on are served. */
  hello = false;
  ackedVersion = -1;
  /**
   * Has acknowledged the table that was current when it acknowledged: from then on it serves, and
   * every apply() waits for it. A worker still starting (catching up) gets no connections instead.
   */
  caughtUp = false;
  /** Told to stop: it gets no more connections. */
  stopping = false;
  exited = false;

  constructor(config: WorkerConfig, events: SlotEvents) {
    this.child = fork(workerFile, [], {
      execArgv: workerExecArgv(process.execArgv),
      env: { ...process.env, [workerConfigEnv]: JSON.stringify(config) },
      // 3: IPC (connections, questions, metrics); 4: the control pipe (route tables, acks).
      stdio: ["ignore", "inherit", "inherit", "ipc", config.controlThread ? "pipe" : "ignore"],
      serialization: "json",
    });
    this.#control = config.controlThread ? (this.child.stdio[4] as Socket) : undefined;
    if (this.#control) {
      const acks = new FrameReader(false, (version) => {
        if (version <= this.ackedVersion) return;
        this.ackedVersion = version;
        events.ack(this);
      });
      this.#control.on("data", (chunk: Buffer) => acks.push(chunk));
      this.#control.on("error", () => {}); // the worker is exiting; its exit event follows
    }
    this.child.on("message", (message: unknown) => {
      if (!isFromWorker(message)) return;
      if (message.type === "ack") {
        if (message.version > this.ackedVersion) {
          this.ackedVersion = message.version;
          events.ack(this);
        }
      } else {
        if (message.type === "hello") this.hello = true;
        events.message(this, message);
      }
    });
    this.child.on("error", () => {}); // IPC send failures; the exit event follows
    this.child.on("exit", (code, signal) => {
      this.exited = true;
      this.#control?.destroy();
      events.exit(this, code, signal);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Can take a connection now: it has a table and is neither stopping nor gone. */
  get ready(): boolean {
    return this.hello && this.caughtUp && !this.stopping && !this.exited && this.child.connected;
  }

  /** Writes a table to the control pipe (buffered until the control thread reads), or sends it over IPC. */
  sendTable(table: OutgoingTable): void {
    if (this.#control) {
      if (!this.#control.destroyed) this.#control.write(table.frame!);
    } else if (this.hello) {
      this.send({ type: "routes", version: table.version, routes: table.routes });
    }
  }

  send(message: ToWorker): void {
    try {
      if (this.child.connected) this.child.send(message);
    } catch {
      // The worker is exiting; its exit event updates every wait.
    }
  }

  /** Hands an accepted socket over; `failed` gets it back when the worker can no longer take it. */
  sendSocket(socket: Socket, failed: (socket: Socket) => void): void {
    try {
      this.child.send({ type: "connection" } satisfies ToWorker, socket, (error) => {
        if (error && !socket.destroyed) failed(socket);
      });
    } catch {
      failed(socket);
    }
  }

  kill(): void {
    if (!this.exited) this.child.kill("SIGKILL");
  }
}
