/**
 * One keep-alive connection of the fast lane to an upstream: a plain socket and the reader of its
 * responses. It carries one request at a time for the exchange that holds it (its `user`) and
 * reports the response, and any failure of the connection, to that exchange.
 */
import { connect, type Socket } from "node:net";
import type { RawConnection } from "../upstreams.js";
import { ResponseReader, type ResponseHandler, type ResponseHead } from "./response-reader.js";

/**
 * Every upstream read of the worker lands in this one buffer (net's `onread`), which skips the
 * Readable stream's per-read work; the worker is single-threaded and each read is handled before the
 * next, so a user must copy what it keeps past onBody (see ConnectionUser).
 */
const readBuffer = Buffer.allocUnsafe(64 * 1024);

/** The exchange a connection works for. Body bytes it gets are only valid during the call. */
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
    const socket = (this.socket = connect({ host, port, onread: { buffer: readBuffer, callback: (length: number) => this.#onData(readBuffer.subarray(0, length)) } }));
    socket.setNoDelay(true);
    socket.on("connect", () => (this.connected = true));
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

  #onData(data: Buffer): boolean {
    const user = this.#user;
    // Bytes nobody asked for: the connection is out of step with the upstream.
    if (user === null) {
      this.close();
      return false;
    }
    this.#reader.push(data);
    user.flush();
    return true;
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
