/**
 * Checks: periodic probes of five types (http, tcp, tls, command, dns), each in its own folder
 * behind the `CheckType` interface of a typed registry, with a small typed condition language.
 * `parseChecks` turns the `checks:` section into definitions, `runCheck` runs one once; scheduling,
 * state and storage are the scheduler's (monitor/).
 */
export type {
  CheckDefinition,
  CheckResult,
  CheckType,
  Condition,
  FieldKind,
  FieldValue,
  Probe,
  ProbeContext,
  ProbeOutcome,
} from "./types.js";
export { checkTypeNames, checkTypeOf, checkTypes, type CheckTypeName } from "./registry.js";
export { operators, parseCondition, type Operator, type ParsedCondition } from "./conditions.js";
export {
  checkCommonShape,
  checkConfigSchema,
  defaultFailureThreshold,
  defaultIntervalMs,
  defaultRecoveryThreshold,
  defaultTimeoutMs,
  defineCheck,
  parseChecks,
  type DefineCheckOptions,
} from "./config.js";
export { runCheck, type RunCheckOptions } from "./run.js";
export { closeHttpDispatchers as closeCheckConnections } from "./http/index.js";
export type { HttpOptions } from "./http/index.js";
export type { TcpOptions } from "./tcp/index.js";
export type { TlsOptions } from "./tls/index.js";
export type { CommandOptions } from "./command/index.js";
export type { DnsOptions } from "./dns/index.js";
