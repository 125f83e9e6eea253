import assert from "node:assert/strict";
import { test } from "node:test";
import { hostOf, RouteIndex } from "./route-table.js";
import type { Route } from "./types.js";

const r = (host: string, pathPrefix: string, releaseId: string): Route => ({
  host,
  pathPrefix,
  releaseId,
  service: "web",
  environment: "test",
  upstreams: [],
});

const index = new RouteIndex(1, [r("*", "/", "any-root"), r("*", "/api", "any-api"), r("shop.test", "/", "shop-root"), r("shop.test", "/api/", "shop-api"), r("Blog.Test", "/admin", "blog-admin")], (route) => route.releaseId);

test("an exact host wins over *", () => {
  assert.equal(index.match("shop.test", "/"), "shop-root");
  assert.equal(index.match("other.test", "/"), "any-root");
});

test("the longest path prefix wins", () => {
  assert.equal(index.match("shop.test", "/api/orders"), "shop-api");
  assert.equal(index.match("other.test", "/api/orders?x=1"), "any-api");
  assert.equal(index.match("other.test", "/api"), "any-api");
});

test("a prefix matches whole path segments only", () => {
  assert.equal(index.match("other.test", "/apiary"), "any-root");
  assert.equal(index.match("other.test", "/api?q=1"), "any-api");
});

test("an exact host whose routes miss the path falls back to *", () => {
  assert.equal(index.match("blog.test", "/admin/x"), "blog-admin");
  assert.equal(index.match("blog.test", "/"), "any-root");
});

test("host matching ignores the port and case; no header means *", () => {
  assert.equal(index.match("SHOP.test:8080", "/api/x"), "shop-api");
  assert.equal(index.match(undefined, "/api"), "any-api");
  assert.equal(hostOf("[::1]:8080"), "[::1]");
  assert.equal(hostOf("[::1]"), "[::1]");
});

test("no route matches → undefined", () => {
  const only = new RouteIndex(2, [r("shop.test", "/api", "x")], (route) => route.releaseId);
  assert.equal(only.match("shop.test", "/"), undefined);
  assert.equal(only.match("other.test", "/api"), undefined);
});

test("a host with the root's trailing dot matches the host without it, not *", () => {
  assert.equal(index.match("shop.test.", "/"), "shop-root");
  assert.equal(index.match("SHOP.test.:8080", "/api/x"), "shop-api");
  assert.equal(hostOf("a.example."), "a.example");
  const dotted = new RouteIndex(3, [r("a.example.", "/", "dotted"), r("*", "/", "any")], (route) => route.releaseId);
  assert.equal(dotted.match("a.example", "/"), "dotted");
  assert.equal(dotted.match("a.example.", "/"), "dotted");
});
