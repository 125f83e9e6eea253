/**
 * Matching a request to a route: by host (exact host first, then "*"), then by the longest path
 * prefix. Pure and allocation-free per lookup, so the worker can call it on every request.
 */
import type { Route } from "./types.js";

interface Entry<T> {
  prefix: string;
  /** A prefix ending in "/" matches anything that starts with it; otherwise the next character must end a segment. */
  open: boolean;
  target: T;
}

/** One compiled route table. `T` is what the worker attaches to each route (its upstreams, its metrics). */
export class RouteIndex<T> {
  readonly version: number;
  #byHost = new Map<string, Entry<T>[]>();
  #anyHost: Entry<T>[] = [];

  constructor(version: number, routes: readonly Route[], attach: (route: Route) => T) {
    this.version = version;
    for (const route of routes) {
      const host = route.host === "*" ? "*" : withoutRootDot(route.host.toLowerCase());
      const prefix = route.pathPrefix.startsWith("/") ? route.pathPrefix : `/${route.pathPrefix}`;
      const entry: Entry<T> = { prefix, open: prefix.endsWith("/"), target: attach(route) };
      let list = host === "*" ? this.#anyHost : this.#byHost.get(host);
      if (!list) this.#byHost.set(host, (list = []));
      list.push(entry);
    }
    // Longest prefix first, so the first hit is the best one. Stable sort keeps table order for ties.
    const byLength = (a: Entry<T>, b: Entry<T>) => b.prefix.length - a.prefix.length;
    this.#anyHost.sort(byLength);
    for (const list of this.#byHost.values()) list.sort(byLength);
  }

  /**
   * The route for a Host header value (port and case ignored) and a request target (path with
   * query). An exact host whose routes do not cover the path falls back to the "*" routes.
   */
  match(hostHeader: string | undefined, url: string): T | undefined {
    if (hostHeader !== undefined && this.#byHost.size > 0) {
      const list = this.#byHost.get(hostOf(hostHeader));
      if (list !== undefined) {
        const hit = find(list, url);
        if (hit !== undefined) return hit;
      }
    }
    return find(this.#anyHost, url);
  }
}

function find<T>(list: Entry<T>[], url: string): T | undefined {
  for (let i = 0; i < list.length; i++) {
    const entry = list[i]!;
    if (!url.startsWith(entry.prefix)) continue;
    if (entry.open || url.length === entry.prefix.length) return entry.target;
    const next = url.charCodeAt(entry.prefix.length);
    if (next === 47 /* / */ || next === 63 /* ? */ || next === 35 /* # */) return entry.target;
  }
  return undefined;
}

/**
 * "Example.com:8080" → "example.com"; "[::1]:8080" → "[::1]"; "a.example." → "a.example" (the
 * fully qualified form, with the root's empty label, names the same host).
 */
export function hostOf(hostHeader: string): string {
  let end = hostHeader.length;
  const colon = hostHeader.lastIndexOf(":");
  if (colon !== -1 && hostHeader.indexOf("]", colon) === -1) end = colon;
  if (end > 1 && hostHeader.charCodeAt(end - 1) === 46 /* . */) end--;
  const host = end === hostHeader.length ? hostHeader : hostHeader.slice(0, end);
  // V8 returns the same string when it is already lower case, so this is free in the common case.
  return host.toLowerCase();
}

function withoutRootDot(host: string): string {
  return host.length > 1 && host.endsWith(".") ? host.slice(0, -1) : host;
}
