import { redactor } from "./redact.js";

export type LogLevel = "debug" | "info" | "warn" | "error";
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** "json" writes one JSON object a line; "pretty" writes `time level message key=value`. */
  format?: "json" | "pretty";
  write?: (line: string) => void;
}

/** A small structured logger. Every line goes through the redactor before it is written. */
export function createLogger(options: LoggerOptions = {}, bound: Record<string, unknown> = {}): Logger {
  const level = options.level ?? (process.env.ENGINEROOM_LOG_LEVEL as LogLevel | undefined) ?? "info";
  const format = options.format ?? "pretty";
  const write = options.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const log = (at: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (order[at] < order[level]) return;
    const all = { ...bound, ...fields };
    let line: string;
    if (format === "json") {
      line = JSON.stringify({ time: new Date().toISOString(), level: at, message, ...all });
    } else {
      const extra = Object.entries(all)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
        .join(" ");
      line = `${new Date().toISOString().slice(11, 23)} ${at.padEnd(5)} ${message}${extra ? " " + extra : ""}`;
    }
    write(redactor.redact(line));
  };
  return {
    debug: (m, f) => log("debug", m, f),
    info: (m, f) => log("info", m, f),
    warn: (m, f) => log("warn", m, f),
    error: (m, f) => log("error", m, f),
    child: (fields) => createLogger(options, { ...bound, ...fields }),
  };
}

/** A logger that drops everything; for tests and library use. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
