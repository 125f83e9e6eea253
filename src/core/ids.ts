import { randomBytes } from "node:crypto";

/**
 * A sortable unique id: a prefix, the time in base36 and random bits, e.g. `rel_lx2k9a1b_8f3c2d1e`.
 * Sorting ids of one prefix sorts them by creation time (to the millisecond).
 */
export function newId(prefix: string, now: number = Date.now()): string {
  return `${prefix}_${now.toString(36).padStart(9, "0")}_${randomBytes(4).toString("hex")}`;
}
