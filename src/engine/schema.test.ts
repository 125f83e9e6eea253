import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import yaml from "js-yaml";
import { parseAlertsConfig } from "../alert/index.js";
import { parseProject } from "../config/index.js";
import { monitorSettingsSchema, parseChecks } from "../monitor/index.js";
import { parseChannelsConfig } from "../notify/index.js";
import { runtimeConfigSchema } from "../runtime/index.js";
import { secretsConfigSchema } from "../secrets/index.js";
import { parseSlos } from "../slo/index.js";
import { projectJsonSchema } from "./schema.js";

const example = readFileSync(resolve(import.meta.dirname, "../../examples/hello/engineroom.yaml"), "utf8");

/** A monitoring section of every kind, with every check and channel type: what a user might write. */
const monitoring = `
runtime: { type: local, host: 127.0.0.1 }
secrets:
  providers:
    local: { type: local }
checks:
  home:
    type: http
    url: http://127.0.0.1:8080/
    interval: 30s
    failure_threshold: 3
    conditions: ["status == 200", "response_time < 300ms"]
  db:
    type: tcp
    host: 127.0.0.1
    port: 5432
  cert:
    type: tls
    host: example.com
    conditions: ["cert_expires > 14d"]
  job:
    type: command
    command: "true"
    timeout: 5s
  resolver:
    type: dns
    name: example.com
slos:
  web-availability:
    service: web
    kind: availability
    target: 99.9
    window: 30d
  web-latency:
    service: web
    kind: latency
    target: 99
    threshold: 500ms
alerts:
  route:
    receiver: ops
    group_by: [alertname, service]
    group_wait: 30s
    repeat_interval: 4h
    routes:
      - matchers: ["severity = page"]
        receiver: [ops, mail]
  inhibit_rules:
    - source_matchers: ["alertname = proxy-down"]
      target_matchers: ["alertname = check-down"]
      equal: [environment]
  silences: { max_duration: 7d }
  rules:
    - name: high-latency
      threshold: 2s
    - name: busy
      metric: rps
      op: ">"
      threshold: 1000
  default_rules: true
channels:
  ops:
    type: webhook
    url: { secret: ops_webhook }
    hmac_secret: { secret: ops_hmac }
  chat:
    type: slack
    url: https://hooks.slack.example/services/x
  mail:
    type: email
    host: 127.0.0.1
    port: 2525
    from: engineroom@example.com
    to: [ops@example.com]
monitor:
  max_concurrency: 256
`;

type Schema = { properties: Record<string, any>; $defs?: Record<string, unknown> };

/** ajv 8 (fastify's) when the project can resolve it; the structural tests run either way. */
function ajv(): { compile(schema: unknown): ((data: unknown) => boolean) & { errors?: { instancePath: string; message?: string }[] } } | undefined {
  try {
    const Ajv2020 = createRequire(import.meta.url)("ajv/dist/2020") as new (options: object) => ReturnType<typeof ajv> & object;
    return new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
  } catch {
    return undefined;
  }
}

describe("engineroom.yaml's full JSON Schema", () => {
  const schema = projectJsonSchema() as Schema;

  it("describes each check type by its `type`, with that type's own options", () => {
    const entry = schema.properties.checks.additionalProperties as { oneOf: { properties: Record<string, any>; required: string[]; additionalProperties: boolean }[] };
    const http = entry.oneOf.find((o) => o.properties.type.const === "http")!;
    assert.ok(http, "an http check schema");
    assert.ok(http.properties.url && http.properties.tls_verify && http.properties.failure_threshold);
    assert.ok(http.required.includes("url"));
    assert.equal(http.additionalProperties, false);
    assert.deepEqual(entry.oneOf.map((o) => o.properties.type.const).sort(), ["command", "dns", "http", "tcp", "tls"]);
    // The keys keep config's rule for names.
    assert.equal(schema.properties.checks.propertyNames.pattern, "^[a-z][a-z0-9-]{0,62}$");
  });

  it("describes channels, SLOs, alerts (with the metric rules), the monitor, the runtime and the secret providers", () => {
    const webhook = schema.properties.channels.additionalProperties.oneOf.find((o: any) => o.properties.type.const === "webhook");
    assert.ok(webhook.properties.hmac_secret);
    const slo = schema.properties.slos.additionalProperties;
    assert.ok(slo.properties.target && slo.required.includes("target"));
    const alerts = schema.properties.alerts;
    assert.ok(alerts.properties.route.properties.group_wait);
    assert.ok(alerts.properties.rules && alerts.properties.default_rules);
    assert.equal(alerts.additionalProperties, false);
    assert.equal(schema.properties.monitor.properties.max_concurrency.default, 512);
    assert.ok(JSON.stringify(schema.properties.runtime).includes('"log_max_bytes"'));
    assert.ok(JSON.stringify(schema.properties.secrets.properties.providers).includes('"const":"env"'));
    // A child route refers to itself: its definition is in the document's $defs.
    for (const ref of JSON.stringify(schema).matchAll(/"\$ref":"#\/\$defs\/([^"]+)"/g)) assert.ok(schema.$defs?.[ref[1]!], `$defs holds ${ref[1]}`);
    // config/'s own sections are as config/ writes them.
    assert.equal(schema.properties.services.additionalProperties.additionalProperties, false);
  });

  it("the sample is one the engine accepts", () => {
    const text = `${example}\n${monitoring}`;
    const config = parseProject(text, "engineroom.yaml");
    assert.equal(parseChecks(config.checks as Record<string, unknown>).length, 5);
    const slos = parseSlos(config.slos, { services: ["web"], environments: ["production"] });
    assert.deepEqual(slos.ok ? [] : slos.problems, []);
    assert.equal(parseChannelsConfig(config.channels).size, 3);
    parseAlertsConfig(config.alerts, Object.keys(config.channels));
    monitorSettingsSchema.parse(config.monitor);
    runtimeConfigSchema.parse(config.runtime);
    secretsConfigSchema.parse(config.secrets);
  });

  const validator = ajv();
  it("validates the example with the sample as good, and a wrong key anywhere in monitoring as bad", { skip: validator ? false : "ajv is not resolvable from the project" }, () => {
    const validate = validator!.compile(schema);
    const good = yaml.load(`${example}\n${monitoring}`) as Record<string, any>;
    assert.equal(validate(good), true, JSON.stringify(validate.errors));
    assert.equal(validate(yaml.load(example)), true, JSON.stringify(validate.errors));

    const bad = (change: (doc: Record<string, any>) => void): string[] => {
      const doc = structuredClone(good);
      change(doc);
      assert.equal(validate(doc), false);
      return validate.errors!.map((e) => e.instancePath);
    };
    assert.ok(bad((d) => (d.checks.home.expect_status = 200)).some((p) => p.startsWith("/checks/home")));
    assert.ok(bad((d) => delete d.checks.db.port).some((p) => p.startsWith("/checks/db")));
    assert.ok(bad((d) => (d.checks.job.type = "ping")).some((p) => p.startsWith("/checks/job")));
    assert.ok(bad((d) => (d.channels.chat.hmac_secret = "x")).some((p) => p.startsWith("/channels/chat")));
    assert.ok(bad((d) => (d.slos["web-latency"].target = 100)).includes("/slos/web-latency/target"));
    assert.ok(bad((d) => (d.alerts.route.group_wiat = "1m")).some((p) => p.startsWith("/alerts/route")));
    assert.ok(bad((d) => (d.alerts.rules[1].metric = "cpu")).includes("/alerts/rules/1/metric"));
    assert.ok(bad((d) => (d.monitor.max_concurency = 1)).some((p) => p.startsWith("/monitor")));
    assert.ok(bad((d) => (d.secrets.providers.local = { type: "vault" })).some((p) => p.startsWith("/secrets/providers/local")));
  });
});
