import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isEngineError } from "../core/index.js";
import { parseAlertsConfig } from "./config.js";
import { parseMatcher, matchesAll } from "./matchers.js";
import { buildRoutes, groupOf, matchRoutes } from "./routing.js";

function problems(value: unknown, channels = ["ops", "mail"]): string[] {
  try {
    parseAlertsConfig(value, channels);
  } catch (error) {
    assert.ok(isEngineError(error) && error.code === "CONFIG_INVALID");
    return error.details!.problems as string[];
  }
  assert.fail("expected CONFIG_INVALID");
}

describe("alerts config", () => {
  it("has Alertmanager's defaults, and every declared channel as the default receiver", () => {
    const config = parseAlertsConfig(undefined, ["ops", "mail"]);
    assert.deepEqual(config.route.group_by, ["alertname", "service", "environment"]);
    assert.deepEqual([config.route.group_wait, config.route.group_interval, config.route.repeat_interval, config.route.send_resolved], [30_000, 300_000, 14_400_000, true]);
    assert.deepEqual(config.silences, { max_duration: 7 * 86_400_000, expire_unused_after: 86_400_000 });
    assert.deepEqual(config.noise, { self_resolve_within: 300_000, action_within: 1_800_000 });
    assert.deepEqual(buildRoutes(config.route, ["ops", "mail"]).receivers, ["ops", "mail"]);
  });

  it("names every problem by its exact path", () => {
    assert.deepEqual(
      problems({
        route: { routes: [{ matchers: ["severity=page", "bad matcher"], group_wait: "soon", continue: "yes" }] },
        inhibit_rules: [{ source_matchers: [], target_matchers: ["a=~("] }],
        silences: { max_duration: "30d" },
        noise: { self_resolve_within: 0 },
        bogus: 1,
      }),
      [
        'alerts.route.routes.0.matchers.1: "bad matcher" is not a matcher; write name=value, name!=value, name=~regex or name!~regex',
        'alerts.route.routes.0.group_wait: "soon" is not a duration; write it like 30s, 5m, 4h or 7d',
        "alerts.route.routes.0.continue: Invalid input: expected boolean, received string",
        "alerts.inhibit_rules.0.source_matchers: Too small: expected array to have >=1 items",
        `alerts.inhibit_rules.0.target_matchers.0: "a=~(": Invalid regular expression: /^(?:()$/: Unterminated group`,
        "alerts.silences.max_duration: \"30d\" is longer than the longest duration, 24d (2147483647 ms): Node's timers cannot wait longer",
        "alerts.noise.self_resolve_within: must be longer than 0",
        "alerts.bogus: unknown key; known keys: route, inhibit_rules, silences, noise, rules, default_rules",
      ],
    );
  });

  it("names an unknown key by its own path, with the keys there are and a guess", () => {
    assert.deepEqual(problems({ route: { group_wiat: "30s", routes: [{ matchers: ["a=b"], routes: [{ recevier: "ops" }] }] }, silences: { max_durration: "1d" } }), [
      "alerts.route.routes.0.routes.0.recevier: unknown key (did you mean receiver?); known keys: matchers, receiver, group_by, group_wait, group_interval, repeat_interval, send_resolved, continue, routes",
      "alerts.route.group_wiat: unknown key (did you mean group_wait?); known keys: receiver, group_by, group_wait, group_interval, repeat_interval, send_resolved, routes",
      "alerts.silences.max_durration: unknown key (did you mean max_duration?); known keys: max_duration, expire_unused_after",
    ]);
  });

  it("refuses a receiver that is not a declared channel, naming its path", () => {
    assert.deepEqual(problems({ route: { receiver: "pager", routes: [{ receiver: ["ops", "slack"], routes: [{ receiver: "sms" }] }] } }), [
      'alerts.route.receiver: no channel named "pager" under channels: (declared: ops, mail)',
      'alerts.route.routes.0.receiver.1: no channel named "slack" under channels: (declared: ops, mail)',
      'alerts.route.routes.0.routes.0.receiver: no channel named "sms" under channels: (declared: ops, mail)',
    ]);
    assert.deepEqual(problems({ route: { receiver: "ops" } }, []), ['alerts.route.receiver: no channel named "ops" under channels: (no channel is declared)']);
  });

  it("accepts the metric rules of the sources under alerts.rules", () => {
    const config = parseAlertsConfig({ rules: [{ name: "high-latency", threshold: "500ms" }] }, []);
    assert.equal(config.rules[0]!.name, "high-latency");
    assert.deepEqual(problems({ rules: [{ name: "x", metric: "p95" }] }, []), ["alerts.rules.0.op: required (only the default rules high-latency, error-rate may leave it out)", "alerts.rules.0.threshold: required (only the default rules high-latency, error-rate may leave it out)"]);
  });
});

describe("routing", () => {
  const route = (value: unknown) => buildRoutes(parseAlertsConfig({ route: value }, ["ops", "mail", "pager"]).route, ["ops", "mail", "pager"]);

  it("rounds repeat_interval up to a multiple of group_interval, and children inherit what they do not set", () => {
    const root = route({ group_interval: "7m", repeat_interval: "1h", routes: [{ matchers: ["severity=page"], receiver: "pager", group_wait: "5s" }] });
    assert.equal(root.repeatIntervalMs, 63 * 60_000);
    const [child] = root.children;
    assert.deepEqual([child!.receivers, child!.groupWaitMs, child!.groupIntervalMs, child!.repeatIntervalMs, child!.groupBy], [["pager"], 5000, 7 * 60_000, 63 * 60_000, ["alertname", "service", "environment"]]);
  });

  it("takes the first matching child, later ones too with continue, and the parent when none matches", () => {
    const root = route({
      receiver: "mail",
      routes: [
        { matchers: ["severity=page"], receiver: "pager", continue: true },
        { matchers: ["service=~web|api"], receiver: "ops" },
        { matchers: ["environment!=staging"], receiver: "mail" },
      ],
    });
    const ids = (labels: Record<string, string>) => matchRoutes(root, labels).map((r) => r.id);
    assert.deepEqual(ids({ severity: "page", service: "api" }), ["root.0", "root.1"]);
    assert.deepEqual(ids({ severity: "ticket", service: "web" }), ["root.1"]);
    assert.deepEqual(ids({ severity: "ticket", service: "db", environment: "production" }), ["root.2"]);
    assert.deepEqual(ids({ severity: "ticket", service: "db", environment: "staging" }), ["root"]);
  });

  it("groups by the group_by labels an alert has, or by all of them with ...", () => {
    const labels = { alertname: "check-down", service: "web", check: "web.production" };
    assert.equal(groupOf(route({}), labels).key, 'root:{"alertname":"check-down","service":"web"}');
    assert.deepEqual(groupOf(route({ group_by: ["..."] }), labels).groupLabels, { alertname: "check-down", check: "web.production", service: "web" });
  });
});

describe("matchers", () => {
  it("match =, !=, anchored =~ and !~, a missing label being empty", () => {
    const m = (...texts: string[]) => texts.map((t) => {
      const parsed = parseMatcher(t);
      assert.ok(parsed.ok);
      return parsed.matcher;
    });
    const labels = { service: "web", environment: "production" };
    assert.equal(matchesAll(m("service=web", "environment!=staging"), labels), true);
    assert.equal(matchesAll(m("service=~web|api"), labels), true);
    assert.equal(matchesAll(m("service=~we"), labels), false, "anchored");
    assert.equal(matchesAll(m("environment!~prod.*"), labels), false);
    assert.equal(matchesAll(m('team=""'), labels), true);
    assert.equal(matchesAll(m("team!="), labels), false);
    assert.equal(parseMatcher("no operator").ok, false);
  });
});
