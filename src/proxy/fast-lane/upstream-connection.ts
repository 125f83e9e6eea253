/**
 * One keep-alive connection of the fast lane to an upstream: a plain socket and the reader of its
 * responses. It carries one request at a time for the exchange that holds it (its `user`) and
 * reports the response, and any failure of the connection, to that exchange.
 */
import { connect, type Socket } from "node:net";
import type { RawConnection } from "../upstreams.js";
import { ResponseReader, type ResponseHandler, type ResponseHead } from "./response-reader.js";

/** The exchange a connection works for. */
export interface ConnectionUser extends ResponseHandler {
  /** Called after each read from the upstream was handled: what the exchange held back goes out now. */
  flush(): void;
}

export class UpstreamConnection implements RawConnection, ResponseHandler {
  readonly socket: Socket;
  /** The TCP connection was established (so a request written on it may have reached the upstream). */
  connected = false;
  /** The last socket error's code (ECONNREFUSED, ECONNRESET, EPIPE...), if any. */
  errorCode: string | undefined;
  #user: ConnectionUser | null = null;
  #open = true;
  readonly #reader = new ResponseReader(this);

  constructor(host: string, port: number) {
    const socket = (this.socket = connect({ host, port }));
    socket.setNoDelay(true);
    socket.on("connect", () => (this.connected = true));
    socket.on("data", (data: Buffer) => this.#onData(data));
    socket.on("error", (error: NodeJS.ErrnoException) => (this.errorCode = error.code ?? "ECONNRESET"));
    socket.on("close", () => this.#onClose());
  }

  get open(): boolean {
    return this.#open;
  }

  /** Sends a request head (nothing else: the fast lane carries no request bodies) for `user`. */
  send(head: string, user: ConnectionUser, isHead: boolean): void {
    this.#user = user;
    this.#reader.start(isHead);
    this.socket.write(head, "latin1");
  }

  /** Stops reporting to the exchange that held the connection (it is done with it). */
  detach(): void {
    this.#user = null;
  }

  close(): void {
    this.#open = false;
    this.#user = null;
    this.socket.destroy();
  }

  #onData(data: Buffer): void {
    const user = this.#user;
    // Bytes nobody asked for: the connection is out of step with the upstream.
    if (user === null) return this.close();
    this.#reader.push(data);
    user.flush();
  }

  #onClose(): void {
    this.#open = false;
    if (this.#user !== null && this.#reader.busy) this.#reader.close();
    this.#user = null;
  }

  onHead(head: ResponseHead): void {
    this.#user?.onHead(head);
  }

  onBody(bytes: Buffer): void {
    this.#user?.onBody(bytes);
  }

  onEnd(extra: boolean): void {
    const user = this.#user;
    this.#user = null;
    user?.onEnd(extra);
  }

  onError(code: string, bodyStarted: boolean): void {
    const user = this.#user;
    this.#user = null;
    user?.onError(code, bodyStarted);
  }
}
