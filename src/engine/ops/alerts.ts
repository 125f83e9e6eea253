import type { Engine } from "../engine.js";

/** The alerts operations of the façade (see ../operations.ts). */
export interface AlertOperations {}

export function alertOperations(engine: Engine): AlertOperations {
  void engine;
  return {};
}
