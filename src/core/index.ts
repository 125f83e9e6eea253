export { errorCatalogue, EngineError, isEngineError, toEngineError, type ErrorCode } from "./errors.js";
export { systemClock, ManualClock, type Clock } from "./clock.js";
export { parseDuration, formatDuration, formatSpan } from "./duration.js";
export { newId } from "./ids.js";
export { Redactor, redactor } from "./redact.js";
export { createLogger, silentLogger, type Logger, type LogLevel, type LoggerOptions } from "./logger.js";
export { childExecArgv, processAlive, waitUntilGone } from "./process.js";
export { formatAddress, parseAddress } from "./address.js";
