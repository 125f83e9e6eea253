import type { Engine } from "../engine.js";

/** The checks operations of the façade (see ../operations.ts). */
export interface CheckOperations {}

export function checkOperations(engine: Engine): CheckOperations {
  void engine;
  return {};
}
