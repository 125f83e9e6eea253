/**
 * The byte-level pieces of RFC 9110's grammar that the fast lane's parsers share: byte classes,
 * hex digits, and case-insensitive comparison of a name's bytes without decoding them.
 */

/** A byte of an RFC 9110 token (a header name). */
export const tchar = 1;
/** Allowed in a field value or reason phrase: HTAB, SP, VCHAR, obs-text (no other CTL, no DEL). */
export const vchar = 2;
/** tchar and vchar bits of every byte. */
export const byteClass = new Uint8Array(256);
for (let c = 0x20; c < 0x7f; c++) byteClass[c] = vchar;
for (let c = 0x80; c < 0x100; c++) byteClass[c] = vchar;
byteClass[0x09] = vchar;
for (const ch of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") byteClass[ch.charCodeAt(0)]! |= tchar;

/** The value of a hex digit byte, or -1. */
export function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/**
 * True when the bytes at `at` are `lower` in any case. `lower` is lower-case ASCII and the bytes are
 * tchar or visible ASCII already (validated), so `| 0x20` can only fold a letter onto its lower case:
 * a non-letter of `lower` ("-", "2") has that bit set already, and its other preimage is a control
 * byte that validation excludes.
 */
export function sameLower(b: Buffer, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) if ((b[at + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

