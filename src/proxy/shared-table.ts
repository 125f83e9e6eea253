/**
 * How a route table gets from a worker's control thread to its request thread without the request
 * thread's event loop: the control thread writes the table's JSON into a SharedArrayBuffer under a
 * sequence lock and bumps a version; the request thread checks that version once per request
 * (one Atomics.load) and, when it moved, reads the table synchronously before routing.
 *
 * A table too big for the buffer travels as a message on a MessagePort instead; the request thread
 * takes it synchronously with receiveMessageOnPort(), so the path stays free of the event loop.
 *
 * Also the framing of the control pipe (controller <-> control thread): a table is
 * [u32 version][u32 byte length][UTF-8 JSON of the routes]; an acknowledgement is [u32 version].
 */
import { receiveMessageOnPort, type MessagePort } from "node:worker_threads";

// Int32 slots of the header, then the table bytes.
const SEQ = 0; // odd while the writer writes
const VERSION = 1;
const KIND = 2; // INLINE: the bytes follow the header; POSTED: the bytes were posted on the port
const LENGTH = 3;
const headerBytes = 16;
const INLINE = 0;
const POSTED = 1;

/** The version a fresh buffer holds: older than any table the controller sends (those start at 0). */
export const noVersion = -1;

/** A buffer for tables of up to `tableBytes` bytes (bigger ones go over the port). */
export function createTableBuffer(tableBytes: number): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(headerBytes + Math.max(0, Math.floor(tableBytes)));
  Atomics.store(new Int32Array(buffer, 0, 4), VERSION, noVersion);
  return buffer;
}

interface Posted {
  version: number;
  bytes: Uint8Array;
}

/** The control thread's side: publishes each table, then the caller may acknowledge it. */
export class TableWriter {
  readonly #header: Int32Array;
  readonly #data: Uint8Array;
  readonly #port: MessagePort;

  constructor(buffer: SharedArrayBuffer, port: MessagePort) {
    this.#header = new Int32Array(buffer, 0, 4);
    this.#data = new Uint8Array(buffer, headerBytes);
    this.#port = port;
  }

  /** Returns once every request the reader starts from now on sees `version`; "inline" or "posted". */
  publish(version: number, json: Uint8Array): "inline" | "posted" {
    const inline = json.length <= this.#data.length;
    if (!inline) {
      // Posted before the header moves, so a reader that sees the new version finds the message.
      const copy = new Uint8Array(json);
      this.#port.postMessage({ version, bytes: copy } satisfies Posted, [copy.buffer]);
    }
    const h = this.#header;
    Atomics.add(h, SEQ, 1);
    if (inline) this.#data.set(json, 0);
    Atomics.store(h, KIND, inline ? INLINE : POSTED);
    Atomics.store(h, LENGTH, inline ? json.length : 0);
    Atomics.store(h, VERSION, version);
    Atomics.add(h, SEQ, 1);
    Atomics.notify(h, SEQ);
    return inline ? "inline" : "posted";
  }
}

/** The request thread's side. */
export class TableReader {
  readonly #header: Int32Array;
  readonly #buffer: SharedArrayBuffer;
  readonly #port: MessagePort;
  /** Tables taken off the port, by version, until the header names one of them. */
  #posted = new Map<number, Uint8Array>();

  constructor(buffer: SharedArrayBuffer, port: MessagePort) {
    this.#header = new Int32Array(buffer, 0, 4);
    this.#buffer = buffer;
    this.#port = port;
  }

  /** The version published last. One atomic load: cheap enough to call on every request. */
  version(): number {
    return Atomics.load(this.#header, VERSION);
  }

  /** The table published last, as JSON text. Synchronous; waits only while the writer is mid-copy. */
  read(): { version: number; json: string } {
    const h = this.#header;
    for (;;) {
      const seq = Atomics.load(h, SEQ);
      if (seq & 1) {
        Atomics.wait(h, SEQ, seq, 5);
        continue;
      }
      const version = Atomics.load(h, VERSION);
      let json: string | undefined;
      if (Atomics.load(h, KIND) === INLINE) {
        json = Buffer.from(this.#buffer, headerBytes, Atomics.load(h, LENGTH)).toString("utf8");
      } else {
        this.#drainPort();
        const bytes = this.#posted.get(version);
        if (bytes) json = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
      }
      // A writer that started meanwhile may have torn what we copied: read again.
      if (Atomics.load(h, SEQ) !== seq) continue;
      // Only if the writer's thread died between posting and our read (its port's messages go with it).
      if (json === undefined) throw new Error(`route table ${version} was published but its message is gone`);
      // Keeps this one: a read before the next publish returns it again.
      for (const posted of this.#posted.keys()) if (posted < version) this.#posted.delete(posted);
      return { version, json };
    }
  }

  #drainPort(): void {
    for (let message = receiveMessageOnPort(this.#port); message; message = receiveMessageOnPort(this.#port)) {
      const posted = message.message as Posted;
      this.#posted.set(posted.version, posted.bytes);
    }
  }
}

/** Encodes one table frame for the control pipe. */
export function tableFrame(version: number, json: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(8 + json.length);
  frame.writeUInt32BE(version, 0);
  frame.writeUInt32BE(json.length, 4);
  json.copy(frame, 8);
  return frame;
}

/** Encodes an acknowledgement frame. */
export function ackFrame(version: number): Buffer {
  const frame = Buffer.allocUnsafe(4);
  frame.writeUInt32BE(version, 0);
  return frame;
}

/** Splits a byte stream into frames: with `withBody`, table frames; without, acknowledgements. */
export class FrameReader {
  #chunks: Buffer[] = [];
  #size = 0;
  readonly #withBody: boolean;
  readonly #onFrame: (version: number, body: Buffer) => void;

  constructor(withBody: boolean, onFrame: (version: number, body: Buffer) => void) {
    this.#withBody = withBody;
    this.#onFrame = onFrame;
  }

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    const head = this.#withBody ? 8 : 4;
    while (this.#size >= head) {
      if (this.#chunks[0]!.length < head) this.#chunks = [Buffer.concat(this.#chunks, this.#size)];
      const first = this.#chunks[0]!;
      const length = this.#withBody ? first.readUInt32BE(4) : 0;
      // A big table arrives in many chunks: join them once, when all of it is here.
      if (this.#size < head + length) return;
      const buffered = this.#chunks.length === 1 ? first : Buffer.concat(this.#chunks, this.#size);
      const rest = buffered.subarray(head + length);
      this.#chunks = rest.length > 0 ? [rest] : [];
      this.#size = rest.length;
      this.#onFrame(buffered.readUInt32BE(0), buffered.subarray(head, head + length));
    }
  }
}
