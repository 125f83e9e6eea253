/**
 * The condition language of checks: `<field> <operator> <value>`, typed by the fields a check type
 * reports. `status == 200`, `response_time < 300ms`, `cert_expires > 14d`, `body.json.status == "ok"`,
 * `header.content-type contains "json"`. A condition is checked once, when the config is parsed, so a
 * typo (`stauts`), an operator that does not exist, or a value of the wrong kind (`response_time < 300`:
 * 300 what?) is a config error rather than a check that never passes.
 */
import { EngineError, parseDuration } from "../../core/index.js";
import { closest } from "../../config/index.js";
import type { Condition, FieldKind, FieldValue } from "./types.js";

/** The operators, as written. `contains` and `!contains` read strings; `<` and friends numbers and durations. */
export const operators = ["==", "!=", "<", "<=", ">", ">=", "contains", "!contains"] as const;
export type Operator = (typeof operators)[number];

/** A condition as parsed: what it reads, how, and against what. */
export interface ParsedCondition extends Condition {
  /** The field as written, e.g. `status` or `body.json.items[0].id`. */
  readonly field: string;
  readonly kind: FieldKind;
  readonly operator: Operator;
  /** The value compared with; a duration is in ms. */
  readonly value: FieldValue;
}

const fieldPattern = /^[A-Za-z_][A-Za-z0-9_.\-[\]]*/;
const numberPattern = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;
const ordering: ReadonlySet<Operator> = new Set(["<", "<=", ">", ">="]);
const substring: ReadonlySet<Operator> = new Set(["contains", "!contains"]);

/** A literal as read from the text, before the field's kind is known to accept it. */
type Literal = { type: "number" | "duration" | "string" | "boolean" | "null"; value: FieldValue };

/**
 * Parses one condition against the fields a check type reports (`CheckType.fields`; a key ending in
 * a dot is a prefix, like `body.json.`). Throws CONFIG_INVALID with a message that names the mistake
 * and, for a misspelt field, the closest one; the caller adds the config path.
 *
 * @example parseCondition("status < 400", checkTypes.http.fields).evaluate({ status: 200 }) // true
 */
export function parseCondition(source: string, fields: Readonly<Record<string, FieldKind>>, checkField?: (field: string) => string | undefined): ParsedCondition {
  const text = source.trim();
  const fieldMatch = fieldPattern.exec(text);
  if (!fieldMatch) throw invalid(`"${source}" does not start with a field; write it as <field> <operator> <value>, e.g. status == 200`);
  const field = fieldMatch[0];
  const kind = kindOf(field, fields);
  if (kind === undefined) {
    const names = Object.keys(fields).map((name) => (name.endsWith(".") ? `${name}…` : name));
    const guess = closest(field, Object.keys(fields).filter((name) => !name.endsWith(".")));
    throw invalid(`unknown field "${field}"${guess ? ` (did you mean ${guess}?)` : ""}; fields: ${names.join(", ")}`);
  }
  const fieldProblem = checkField?.(field);
  if (fieldProblem) throw invalid(`field "${field}": ${fieldProblem}`);

  const rest = text.slice(field.length).trimStart();
  const operator = operators
    .slice()
    .sort((a, b) => b.length - a.length)
    .find((op) => rest.startsWith(op) && (!/[a-z]$/.test(op) || /^\s/.test(rest.slice(op.length))));
  if (!operator) {
    const written = /^[=!<>~]+|^[A-Za-z!]+|^\S*/.exec(rest)?.[0] ?? "";
    throw invalid(
      written ? `unknown operator "${written}" in "${text}"; operators: ${operators.join(", ")}` : `"${text}" has no operator and value; write it as ${field} == <value>`,
    );
  }
  const valueText = rest.slice(operator.length).trim();
  if (!valueText) throw invalid(`"${text}" has no value after ${operator}`);
  const literal = readLiteral(valueText, field, kind);
  checkKinds(field, kind, operator, literal);
  return compile(text, field, kind, operator, literal.value);
}

/** The kind of a field, exact or through its prefix; undefined for a field the type does not report. */
function kindOf(field: string, fields: Readonly<Record<string, FieldKind>>): FieldKind | undefined {
  if (Object.hasOwn(fields, field) && !field.endsWith(".")) return fields[field];
  for (const [name, kind] of Object.entries(fields)) {
    if (name.endsWith(".") && field.startsWith(name) && field.length > name.length) return kind;
  }
  return undefined;
}

function readLiteral(text: string, field: string, kind: FieldKind): Literal {
  if (text === "null") return { type: "null", value: null };
  if (text === "true" || text === "false") return { type: "boolean", value: text === "true" };
  if (text.startsWith('"')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw invalid(`${text} is not a complete string: a string is written in double quotes with JSON escapes, e.g. "ok"`);
    }
    return { type: "string", value: value as string };
  }
  if (numberPattern.test(text)) {
    if (kind === "duration") throw invalid(`${field} is a duration: write the value with its unit, e.g. ${text}ms or ${text}s (units ms, s, m, h, d)`);
    return { type: "number", value: Number(text) };
  }
  const ms = parseDuration(text);
  if (ms !== undefined) return { type: "duration", value: ms };
  if (kind === "string" || kind === "json") throw invalid(`${text} is not a value: write a string in double quotes, e.g. "${text.replace(/"/g, "")}"`);
  throw invalid(`${text} is not a value: write a number, a duration such as 300ms or 14d, a string in double quotes, true, false or null`);
}

/** Refuses a comparison that could never be meant: a string ordered with `<`, a duration compared with a bare number… */
function checkKinds(field: string, kind: FieldKind, operator: Operator, literal: Literal): void {
  const equality = operator === "==" || operator === "!=";
  if (literal.type === "null") {
    if (!equality) throw invalid(`null is compared with == or != only, not ${operator}`);
    return;
  }
  if (kind === "number" || kind === "duration") {
    if (substring.has(operator)) throw invalid(`${field} is a ${kind}: ${operator} reads strings; use ==, !=, <, <=, > or >=`);
    if (literal.type !== kind) {
      const example = kind === "number" ? "a number, e.g. 200" : "a duration with its unit, e.g. 300ms or 14d";
      throw invalid(`${field} is a ${kind}: compare it with ${example}, not ${describeLiteral(literal)}`);
    }
    return;
  }
  if (kind === "string") {
    if (ordering.has(operator)) throw invalid(`${field} is a string: ${operator} compares numbers and durations; use ==, !=, contains or !contains`);
    if (literal.type !== "string") throw invalid(`${field} is a string: compare it with a string in double quotes, e.g. "ok", not ${describeLiteral(literal)}`);
    return;
  }
  if (kind === "boolean") {
    if (!equality) throw invalid(`${field} is true or false: compare it with == or !=, not ${operator}`);
    if (literal.type !== "boolean") throw invalid(`${field} is true or false: compare it with true or false, not ${describeLiteral(literal)}`);
    return;
  }
  // json: a value of any JSON type; the operator decides the literal it takes.
  if (literal.type === "duration") throw invalid(`${field} is a JSON value: compare it with a number, a string in double quotes, true, false or null, not a duration`);
  if (ordering.has(operator) && literal.type !== "number") throw invalid(`${operator} compares numbers: write a number after it, not ${describeLiteral(literal)}`);
  if (substring.has(operator) && literal.type !== "string") throw invalid(`${operator} reads strings: write a string in double quotes after it, not ${describeLiteral(literal)}`);
}

function describeLiteral(literal: Literal): string {
  return literal.type === "boolean" ? String(literal.value) : `a ${literal.type}`;
}

function compile(source: string, field: string, kind: FieldKind, operator: Operator, value: FieldValue): ParsedCondition {
  const read = (fields: Readonly<Record<string, FieldValue>>): FieldValue => fields[field] ?? null;
  let test: (actual: FieldValue) => boolean;
  switch (operator) {
    case "==":
      test = (actual) => actual === value;
      break;
    case "!=":
      test = (actual) => actual !== value;
      break;
    case "<":
      test = (actual) => typeof actual === "number" && actual < (value as number);
      break;
    case "<=":
      test = (actual) => typeof actual === "number" && actual <= (value as number);
      break;
    case ">":
      test = (actual) => typeof actual === "number" && actual > (value as number);
      break;
    case ">=":
      test = (actual) => typeof actual === "number" && actual >= (value as number);
      break;
    case "contains":
      test = (actual) => typeof actual === "string" && actual.includes(value as string);
      break;
    case "!contains":
      // A field that is absent (no such header) holds no substring at all.
      test = (actual) => !(typeof actual === "string" && actual.includes(value as string));
      break;
  }
  return { source, field, kind, operator, value, evaluate: (fields) => test(read(fields)) };
}

function invalid(message: string): EngineError {
  return new EngineError("CONFIG_INVALID", message);
}
