import assert from "node:assert/strict";
import { isEngineError, type ErrorCode } from "../core/index.js";

/**
 * For `assert.rejects` / `assert.throws`: the error is an EngineError with `code`, and neither its
 * message nor its JSON holds any of `absent` (a value, a key).
 */
export function coded(code: ErrorCode, ...absent: string[]): (error: unknown) => true {
  return (error: unknown) => {
    assert.ok(isEngineError(error), String(error));
    assert.equal(error.code, code, error.message);
    const shown = `${error.message}\n${JSON.stringify(error)}`;
    for (const text of absent) assert.ok(!shown.includes(text), `the ${code} error holds ${text}: ${error.message}`);
    return true;
  };
}
