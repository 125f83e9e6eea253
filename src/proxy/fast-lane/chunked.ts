/**
 * The chunked-body framing of RFC 9112 §7.1, walked across reads for the fast lane's response
 * reader: chunk-size lines (hex size, optional extensions), data, the last chunk and its trailer
 * section. It checks the framing strictly and finds where the body ends; the bytes themselves pass
 * through untouched.
 */
import { byteClass, hexValue, tchar, vchar } from "./grammar.js";

/** The most bytes a chunk-size line (size, extensions, CRLF) may have. */
const chunkLineLimit = 4 * 1024;
/** The most bytes a chunked body's trailer section (after the last chunk's line) may have. */
const trailerLimit = 16 * 1024;
/** The largest chunk size taken (2^53): beyond it, a double no longer counts bytes exactly. */
const maxChunkSize = 2 ** 53;

/** Where the scanner is. */
const enum Chunk {
  SizeStart,
  Size,
  /** Whitespace after the size, before a `;` (BWS). */
  SizeSpace,
  Extension,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  TrailerName,
  TrailerValue,
  TrailerLf,
  EndLf,
}

/** What the last scan() found. */
export const enum Outcome {
  /** The body goes on in the next read. */
  More,
  /** The body ended at the position scan() returned. */
  Done,
  /** The framing is broken at the position scan() returned. */
  Fault,
}

export class ChunkedScanner {
  outcome = Outcome.More;
  #state = Chunk.SizeStart;
  #size = 0;
  #digits = 0;
  #lineBytes = 0;
  #remaining = 0;

  /** Expects a new chunked body. */
  reset(): void {
    this.#state = Chunk.SizeStart;
    this.#size = 0;
    this.#digits = 0;
    this.#lineBytes = 0;
    this.outcome = Outcome.More;
  }

  /** Scans `data` from `offset`; returns where the body's bytes in it end (the body's end, a fault, or `data.length`), and sets `outcome`. */
  scan(data: Buffer, offset: number): number {
    const n = data.length;
    let i = offset;
    let state = this.#state;
    let fault = false;
    let done = false;
    scan: while (i < n) {
      if (state === Chunk.Data) {
        const take = Math.min(this.#remaining, n - i);
        i += take;
        this.#remaining -= take;
        if (this.#remaining === 0) state = Chunk.DataCr;
        continue;
      }
      const c = data[i]!;
      // Both limits are counted per byte of their line or section, so they hold however reads split.
      if (state <= Chunk.SizeLf ? ++this.#lineBytes > chunkLineLimit : state >= Chunk.TrailerStart && ++this.#lineBytes > trailerLimit) {
        fault = true;
        break;
      }
      switch (state) {
        case Chunk.SizeStart:
        case Chunk.Size: {
          const digit = hexValue(c);
          if (digit >= 0) {
            // Compared before adding, as a sum past 2^53 may round down onto it.
            if (++this.#digits > 16 || this.#size * 16 > maxChunkSize - digit) fault = true;
            else this.#size = this.#size * 16 + digit;
            state = Chunk.Size;
          } else if (state === Chunk.SizeStart) fault = true;
          else if (c === 0x0d) state = Chunk.SizeLf;
          else if (c === 0x3b) state = Chunk.Extension;
          else if (c === 0x20 || c === 0x09) state = Chunk.SizeSpace;
          else fault = true;
          break;
        }
        case Chunk.SizeSpace:
          if (c === 0x3b) state = Chunk.Extension;
          else if (c !== 0x20 && c !== 0x09) fault = true;
          break;
        case Chunk.Extension:
          if (c === 0x0d) state = Chunk.SizeLf;
          else if ((byteClass[c]! & vchar) === 0) fault = true;
          break;
        case Chunk.SizeLf:
          if (c !== 0x0a) fault = true;
          else if (this.#size === 0) {
            state = Chunk.TrailerStart;
            this.#lineBytes = 0;
          } else {
            state = Chunk.Data;
            this.#remaining = this.#size;
          }
          break;
        case Chunk.DataCr:
          if (c === 0x0d) state = Chunk.DataLf;
          else fault = true;
          break;
        case Chunk.DataLf:
          if (c === 0x0a) {
            state = Chunk.SizeStart;
            this.#size = 0;
            this.#digits = 0;
            this.#lineBytes = 0;
          } else fault = true;
          break;
        case Chunk.TrailerStart:
          if (c === 0x0d) state = Chunk.EndLf;
          else if ((byteClass[c]! & tchar) !== 0) state = Chunk.TrailerName;
          else fault = true;
          break;
        case Chunk.TrailerName:
          if (c === 0x3a) state = Chunk.TrailerValue;
          else if ((byteClass[c]! & tchar) === 0) fault = true;
          break;
        case Chunk.TrailerValue:
          if (c === 0x0d) state = Chunk.TrailerLf;
          else if ((byteClass[c]! & vchar) === 0) fault = true;
          break;
        case Chunk.TrailerLf:
          if (c === 0x0a) state = Chunk.TrailerStart;
          else fault = true;
          break;
        case Chunk.EndLf:
          if (c === 0x0a) done = true;
          else fault = true;
          break;
      }
      if (fault) break scan;
      i++;
      if (done) break;
    }
    this.#state = state;
    this.outcome = fault ? Outcome.Fault : done ? Outcome.Done : Outcome.More;
    return i;
  }
}
