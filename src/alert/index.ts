export type * from "./types.js";
export * from "./sources/index.js";
