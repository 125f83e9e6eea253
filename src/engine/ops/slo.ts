import type { Engine } from "../engine.js";

/** The slo operations of the façade (see ../operations.ts). */
export interface SloOperations {}

export function sloOperations(engine: Engine): SloOperations {
  void engine;
  return {};
}
