import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isEngineError } from "../../core/index.js";
import { z } from "zod";
import { checkConfigSchema, defineCheck, parseChecks } from "./config.js";

/** The problems of a section that does not parse, as CONFIG_INVALID lists them. */
function problemsOf(section: Record<string, unknown>, options?: { path?: string[] }): string[] {
  try {
    parseChecks(section, options);
  } catch (error) {
    assert.ok(isEngineError(error), String(error));
    assert.equal(error.code, "CONFIG_INVALID");
    const problems = error.details?.problems as string[];
    for (const problem of problems) assert.ok(error.message.includes(problem));
    return problems;
  }
  assert.fail("the section parsed");
}

const url = "http://127.0.0.1:8080/health";

describe("check config", () => {
  it("fills in the documented defaults", () => {
    const [web] = parseChecks({ web: { type: "http", url } });
    assert.ok(web);
    assert.equal(web.name, "web");
    assert.equal(web.type, "http");
    assert.equal(web.intervalMs, 30_000);
    assert.equal(web.timeoutMs, 10_000);
    assert.equal(web.failureThreshold, 3);
    assert.equal(web.recoveryThreshold, 2);
    assert.deepEqual(web.conditions.map((c) => c.source), ["status >= 200", "status < 400"]);
    assert.deepEqual(web.labels, { severity: "page" });
    assert.equal(web.derived, false);
    assert.equal(web.probe.target, "127.0.0.1:8080");
    assert.ok(Object.isFrozen(web));
  });

  it("takes a short interval as the timeout, and the labels, severity, service and environment", () => {
    const [fast] = parseChecks({
      fast: { type: "tcp", host: "db", port: 5432, interval: "2s", failure_threshold: 1, recovery_threshold: 5, severity: "ticket", service: "web", environment: "staging", labels: { team: "core" } },
    });
    assert.equal(fast!.intervalMs, 2000);
    assert.equal(fast!.timeoutMs, 2000);
    assert.equal(fast!.failureThreshold, 1);
    assert.equal(fast!.recoveryThreshold, 5);
    assert.deepEqual(fast!.labels, { team: "core", severity: "ticket", service: "web", environment: "staging" });
    assert.equal(parseChecks({ t: { type: "tcp", host: "db", port: 1, interval: 60_000, timeout: 500 } })[0]!.timeoutMs, 500, "numbers are ms");
  });

  it("makes a derived check with dots in its name and the caller's labels", () => {
    const check = defineCheck("web.health.production", { type: "http", url, severity: "info" }, { path: ["services", "web", "health"], derived: true, labels: { service: "web", environment: "production" } });
    assert.equal(check.derived, true);
    assert.deepEqual(check.labels, { service: "web", environment: "production", severity: "info" });
    assert.throws(() => defineCheck("web.health", { type: "http", url }, { path: ["checks", "web.health"] }), /a check's name uses lowercase letters/);
  });

  it("names every mistake of every check by its path", () => {
    const problems = problemsOf({
      a: {},
      b: { type: "htp" },
      c: { type: "http", url: "ftp://example.com/", methd: "GET", intervl: "5s" },
      d: { type: "tcp", port: 70_000, interval: "500ms", failure_threshold: 0, severity: "urgent" },
      e: { type: "http", url, interval: "10s", timeout: "15s", labels: { severity: "page", "bad-name": "x" } },
      f: { type: "http", url, conditions: ["stauts == 200", "status = 200", "response_time < 300", 'body < "a"'] },
      g: { type: "dns", name: "example.com", record_type: "PTR", server: "dns.example.com" },
      h: { type: "command", command: "true", conditions: [] },
      i: "not a mapping",
      j: { type: "tcp", host: "db", port: 1, interval: "soon", conditions: "connected == true" },
      Bad: { type: "tcp", host: "db", port: 1 },
    });
    const expected = [
      "checks.a.type: missing; it is required (one of http, tcp, tls, command, dns)",
      'checks.b.type: unknown type "htp" (did you mean http?); types: http, tcp, tls, command, dns',
      "checks.c.intervl: unknown key (did you mean interval?); known keys: type, interval, timeout, failure_threshold, recovery_threshold, conditions, degraded_conditions, labels, severity, service, environment, url, method, headers, body, tls_verify, max_body_bytes",
      "checks.c.url: an http:// or https:// URL, e.g. http://127.0.0.1:8080/health",
      "checks.c.methd: unknown key (did you mean method?); known keys: type, interval, timeout, failure_threshold, recovery_threshold, conditions, degraded_conditions, labels, severity, service, environment, url, method, headers, body, tls_verify, max_body_bytes",
      "checks.d.interval: a check runs at most once a second: write 1s or more",
      "checks.d.failure_threshold: Too small: expected number to be >=1",
      'checks.d.severity: Invalid option: expected one of "page"|"ticket"|"info"',
      "checks.d.host: missing; it is required (string)",
      "checks.d.port: Too big: expected number to be <=65535",
      "checks.e.timeout: 15s is longer than the interval (10s); a run must end before the next one starts: shorten the timeout or lengthen the interval",
      "checks.e.labels.bad-name: a label name uses letters, digits and _, and does not start with a digit",
      "checks.e.labels.severity: set it with the check's own `severity` key, not under labels",
      'checks.f.conditions[0]: unknown field "stauts" (did you mean status?); fields: status, response_time, body, body.json.…, header.…, cert_expires',
      'checks.f.conditions[1]: unknown operator "=" in "status = 200"; operators: ==, !=, <, <=, >, >=, contains, !contains',
      "checks.f.conditions[2]: response_time is a duration: write the value with its unit, e.g. 300ms or 300s (units ms, s, m, h, d)",
      "checks.f.conditions[3]: body is a string: < compares numbers and durations; use ==, !=, contains or !contains",
      'checks.g.record_type: Invalid option: expected one of "A"|"AAAA"|"CNAME"|"MX"|"TXT"|"NS"|"SRV"',
      'checks.g.server: an IP address with an optional port, e.g. "127.0.0.1:53" or "[::1]:5353"',
      "checks.h.conditions: list at least one condition, or leave `conditions` out for the type's defaults",
      "checks.i: expected a mapping of keys (type, interval, conditions, …), got string",
      'checks.j.interval: "soon" is not a duration; write it like 500ms, 30s, 5m or 1h',
      "checks.j.conditions: Invalid input: expected array, received string",
      "checks.Bad: a check's name uses lowercase letters, digits and dashes, starting with a letter",
    ];
    assert.deepEqual(new Set(problems), new Set(expected));
    assert.equal(problems.length, expected.length);
  });

  it("parses degraded_conditions in the condition language, naming each mistake by its path", () => {
    const [slow] = parseChecks({ slow: { type: "http", url: "http://127.0.0.1:1/", degraded_conditions: ["response_time < 300ms"] } });
    assert.deepEqual(slow!.degradedConditions?.map((c) => c.source), ["response_time < 300ms"]);
    assert.deepEqual(slow!.conditions.map((c) => c.source), ["status >= 200", "status < 400"], "the type's conditions still apply");
    const [plain] = parseChecks({ plain: { type: "tcp", host: "db", port: 5432 } });
    assert.deepEqual(plain!.degradedConditions, [], "none by default");
    assert.deepEqual(
      problemsOf({
        a: { type: "http", url: "http://127.0.0.1:1/", degraded_conditions: ["respons_time < 300ms", "response_time < 300", "status = 200"] },
        b: { type: "tcp", host: "db", port: 1, degraded_conditions: [] },
        c: { type: "tcp", host: "db", port: 1, degraded_conditions: "connected == true" },
      }),
      [
        'checks.a.degraded_conditions[0]: unknown field "respons_time" (did you mean response_time?); fields: status, response_time, body, body.json.…, header.…, cert_expires',
        "checks.a.degraded_conditions[1]: response_time is a duration: write the value with its unit, e.g. 300ms or 300s (units ms, s, m, h, d)",
        'checks.a.degraded_conditions[2]: unknown operator "=" in "status = 200"; operators: ==, !=, <, <=, >, >=, contains, !contains',
        "checks.b.degraded_conditions: list at least one condition, or leave `degraded_conditions` out",
        "checks.c.degraded_conditions: Invalid input: expected array, received string",
      ],
    );
  });

  it("names a derived check's mistakes by the path the caller gives", () => {
    assert.throws(
      () => defineCheck("web.health.production", { type: "http", url, timeot: "5s", tls_verify: "yes" }, { path: ["services", "web", "health"], derived: true }),
      (error: unknown) => {
        assert.ok(isEngineError(error));
        assert.deepEqual(error.details?.problems, [
          "services.web.health.tls_verify: Invalid input: expected boolean, received string",
          "services.web.health.timeot: unknown key (did you mean timeout?); known keys: type, interval, timeout, failure_threshold, recovery_threshold, conditions, degraded_conditions, labels, severity, service, environment, url, method, headers, body, tls_verify, max_body_bytes",
        ]);
        return true;
      },
    );
  });

  it("checks each type's own options", () => {
    assert.deepEqual(problemsOf({ c: { type: "command", cwd: "", env: { "1X": "a" } }, t: { type: "tls", host: "a b", port: "443", servername: "" } }), [
      "checks.c.command: missing; it is required (string)",
      "checks.c.cwd: Too small: expected string to have >=1 characters",
      "checks.c.env.1X: an environment variable name",
      "checks.t.host: a host name or IP address, without port or scheme",
      "checks.t.port: Invalid input: expected number, received string",
      "checks.t.servername: Too small: expected string to have >=1 characters",
    ]);
  });

  it("says a label set by its own key belongs there", () => {
    assert.deepEqual(problemsOf({ e: { type: "http", url, labels: { severity: "page" } } }), ["checks.e.labels.severity: set it with the check's own `severity` key, not under labels"]);
  });

  it("names the path the caller gives, and the type's own nested keys", () => {
    assert.deepEqual(problemsOf({ w: { type: "http", url, headers: { "x y": "1", ok: "a\nb" } } }, { path: ["monitoring", "checks"] }), [
      "monitoring.checks.w.headers.x y: a header name",
      "monitoring.checks.w.headers.ok: a header value cannot hold a line break",
    ]);
  });

  it("publishes one schema per type for editors", () => {
    const schema = z.toJSONSchema(checkConfigSchema, { io: "input", unrepresentable: "any" }) as unknown as { oneOf: { properties: { type: { const: string } } }[] };
    assert.deepEqual(schema.oneOf.map((entry) => entry.properties.type.const), ["http", "tcp", "tls", "command", "dns"]);
    assert.equal(checkConfigSchema.safeParse({ type: "tcp", host: "db", port: 5432, methd: "GET" }).success, false);
  });
});
