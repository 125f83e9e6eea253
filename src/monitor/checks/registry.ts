import { commandCheck } from "./command/index.js";
import { dnsCheck } from "./dns/index.js";
import { httpCheck } from "./http/index.js";
import { tcpCheck } from "./tcp/index.js";
import { tlsCheck } from "./tls/index.js";
import type { CheckType } from "./types.js";

/**
 * The check types Engineroom knows, by their config `type:`: each one's options schema, the fields
 * its conditions may read (with their kinds), its default conditions, and how it makes a probe. To
 * add a type (grpc, smtp…), write it in its own folder and add it here; nothing else changes.
 */
export const checkTypes = {
  http: httpCheck,
  tcp: tcpCheck,
  tls: tlsCheck,
  command: commandCheck,
  dns: dnsCheck,
  // `any`: each entry has options of its own type; `checkTypeOf` hands them out as `CheckType<unknown>`.
} as const satisfies Record<string, CheckType<any>>;

/** A check `type:` Engineroom knows. */
export type CheckTypeName = keyof typeof checkTypes;

/** The type names, in the registry's order (for messages and schemas). */
export const checkTypeNames = Object.keys(checkTypes) as CheckTypeName[];

/** The registry's entry for a `type:` as written, or undefined when there is none. */
export function checkTypeOf(name: string): CheckType | undefined {
  return Object.hasOwn(checkTypes, name) ? (checkTypes[name as CheckTypeName] as unknown as CheckType) : undefined;
}
