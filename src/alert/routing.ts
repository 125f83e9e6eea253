/**
 * The route tree (Alertmanager's): an alert goes down the first child route whose matchers match
 * it (and on to later siblings when that child has `continue: true`); where no child matches, the
 * route itself takes it. Children inherit every setting they do not set.
 */
import type { ChildRouteConfig, RootRouteConfig } from "./config.js";
import { matchesAll, parseMatchers, type Matcher } from "./matchers.js";

export interface Route {
  /** `root`, `root.0`, `root.0.1`: part of the group key, so groups of different routes stay apart. */
  id: string;
  matchers: Matcher[];
  /** Channel names. */
  receivers: string[];
  /** Labels whose values make a group; `all` for Alertmanager's `["..."]`. */
  groupBy: string[] | "all";
  groupWaitMs: number;
  groupIntervalMs: number;
  /** Rounded up to a multiple of groupIntervalMs, as Alertmanager does. */
  repeatIntervalMs: number;
  sendResolved: boolean;
  continue: boolean;
  children: Route[];
}

/** The route tree from the config; the root's receiver defaults to every declared channel. */
export function buildRoutes(config: RootRouteConfig, channels: readonly string[]): Route {
  const root = make("root", [], config.receiver === undefined ? [...channels] : receivers(config.receiver), config, undefined);
  root.children = config.routes.map((child, i) => buildChild(child, `root.${i}`, root));
  return root;
}

function buildChild(config: ChildRouteConfig, id: string, parent: Route): Route {
  const route = make(id, parseMatchers(config.matchers), config.receiver === undefined ? parent.receivers : receivers(config.receiver), config, parent);
  route.children = config.routes.map((child, i) => buildChild(child, `${id}.${i}`, route));
  return route;
}

type Settings = Pick<ChildRouteConfig, "group_by" | "group_wait" | "group_interval" | "repeat_interval" | "send_resolved"> & { continue?: boolean };

function make(id: string, matchers: Matcher[], receivers: string[], config: Settings, parent: Route | undefined): Route {
  const groupBy = config.group_by === undefined ? parent!.groupBy : config.group_by.includes("...") ? "all" : [...config.group_by];
  const groupIntervalMs = config.group_interval ?? parent!.groupIntervalMs;
  const repeat = config.repeat_interval ?? parent!.repeatIntervalMs;
  return {
    id,
    matchers,
    receivers,
    groupBy,
    groupWaitMs: config.group_wait ?? parent!.groupWaitMs,
    groupIntervalMs,
    repeatIntervalMs: Math.ceil(repeat / groupIntervalMs) * groupIntervalMs,
    sendResolved: config.send_resolved ?? parent!.sendResolved,
    continue: config.continue ?? false,
    children: [],
  };
}

function receivers(value: string | string[]): string[] {
  return typeof value === "string" ? [value] : [...value];
}

/** The routes that take an alert with these labels (at least the root). */
export function matchRoutes(route: Route, labels: Readonly<Record<string, string>>): Route[] {
  if (!matchesAll(route.matchers, labels)) return [];
  const all: Route[] = [];
  for (const child of route.children) {
    const matched = matchRoutes(child, labels);
    all.push(...matched);
    if (matched.length > 0 && !child.continue) break;
  }
  return all.length > 0 ? all : [route];
}

/** The group an alert joins on a route: its key and the values of the route's group_by labels it has. */
export function groupOf(route: Route, labels: Readonly<Record<string, string>>): { key: string; groupLabels: Record<string, string> } {
  const names = route.groupBy === "all" ? Object.keys(labels) : route.groupBy;
  const groupLabels: Record<string, string> = {};
  for (const name of [...names].sort()) if (labels[name] !== undefined) groupLabels[name] = labels[name];
  return { key: `${route.id}:${JSON.stringify(groupLabels)}`, groupLabels };
}

/** Every route by id, to find a persisted group's route again. */
export function routesById(root: Route): Map<string, Route> {
  const all = new Map<string, Route>();
  const visit = (route: Route) => {
    all.set(route.id, route);
    route.children.forEach(visit);
  };
  visit(root);
  return all;
}
