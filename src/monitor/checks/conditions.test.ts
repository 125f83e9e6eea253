import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isEngineError } from "../../core/index.js";
import { parseCondition } from "./conditions.js";
import { checkTypes } from "./registry.js";

const http = checkTypes.http.fields;

function refused(source: string, message: string | RegExp, fields = http): void {
  assert.throws(
    () => parseCondition(source, fields, checkTypes.http.checkField),
    (error: unknown) => {
      assert.ok(isEngineError(error));
      assert.equal(error.code, "CONFIG_INVALID");
      if (typeof message === "string") assert.equal(error.message, message);
      else assert.match(error.message, message);
      return true;
    },
  );
}

describe("conditions", () => {
  it("reads numbers, durations, strings, booleans and null, with or without spaces around the operator", () => {
    assert.equal(parseCondition("status == 200", http).evaluate({ status: 200 }), true);
    assert.equal(parseCondition("status==200", http).evaluate({ status: 201 }), false);
    assert.equal(parseCondition("status >= 200", http).evaluate({ status: 200 }), true);
    assert.equal(parseCondition("status < 400", http).evaluate({ status: 503 }), false);
    assert.equal(parseCondition("status != 500", http).evaluate({ status: 200 }), true);
    assert.equal(parseCondition("response_time < 300ms", http).evaluate({ response_time: 299.5 }), true);
    assert.equal(parseCondition("response_time <= 1.5s", http).evaluate({ response_time: 1501 }), false);
    assert.equal(parseCondition("cert_expires > 14d", http).value, 14 * 86_400_000);
    assert.equal(parseCondition("cert_expires > 1h30m", http).value, 5_400_000);
    assert.equal(parseCondition('body contains "ok"', http).evaluate({ body: "all ok" }), true);
    assert.equal(parseCondition('body !contains "error"', http).evaluate({ body: "an error" }), false);
    assert.equal(parseCondition('body == "say \\"hi\\"\\n"', http).evaluate({ body: 'say "hi"\n' }), true);
    assert.equal(parseCondition("connected == true", checkTypes.tcp.fields).evaluate({ connected: true }), true);
    assert.equal(parseCondition("connected != true", checkTypes.tcp.fields).evaluate({ connected: true }), false);
    assert.equal(parseCondition("header.etag == null", http).evaluate({}), true);
  });

  it("reads prefix fields: a JSON path of any JSON type, and headers", () => {
    const status = parseCondition('body.json.status == "ok"', http);
    assert.equal(status.field, "body.json.status");
    assert.equal(status.evaluate({ "body.json.status": "ok" }), true);
    assert.equal(status.evaluate({ "body.json.status": 1 }), false);
    assert.equal(parseCondition("body.json.items[0].id >= 7", http).evaluate({ "body.json.items[0].id": 7 }), true);
    assert.equal(parseCondition("body.json.ready == true", http).evaluate({ "body.json.ready": true }), true);
    assert.equal(parseCondition("body.json.count > 3", http).evaluate({ "body.json.count": "9" }), false, "a string is not a number");
    assert.equal(parseCondition('header.content-type contains "json"', http).evaluate({ "header.content-type": "application/json" }), true);
    assert.equal(parseCondition('header.x-debug !contains "1"', http).evaluate({}), true, "an absent header holds nothing");
  });

  it("names an unknown field and the closest one", () => {
    refused("stauts == 200", 'unknown field "stauts" (did you mean status?); fields: status, response_time, body, body.json.…, header.…, cert_expires');
    refused("latency < 300ms", /^unknown field "latency"; fields: /);
    refused("== 200", /does not start with a field/);
    refused("body.json. == 1", /^unknown field "body.json."/);
  });

  it("refuses a JSON path or header name that does not parse", () => {
    refused("body.json.items[x] == 1", /a JSON path is keys and indexes/);
    refused("body.json..a == 1", /a JSON path is keys and indexes/);
    refused("body.json.a[0]b == 1", /a JSON path is keys and indexes/);
    assert.equal(parseCondition("body.json.[0].id == 1", http, checkTypes.http.checkField).field, "body.json.[0].id");
  });

  it("names an unknown operator and lists the operators", () => {
    refused("status = 200", 'unknown operator "=" in "status = 200"; operators: ==, !=, <, <=, >, >=, contains, !contains');
    refused("status ~= 200", /^unknown operator "~="/);
    refused("body matches \"x\"", /^unknown operator "matches"/);
    refused("status", /has no operator and value/);
    refused("status ==", /has no value after ==/);
  });

  it("refuses a value of the wrong kind", () => {
    refused("response_time < 300", "response_time is a duration: write the value with its unit, e.g. 300ms or 300s (units ms, s, m, h, d)");
    refused("status == 2s", "status is a number: compare it with a number, e.g. 200, not a duration");
    refused('status == "200"', "status is a number: compare it with a number, e.g. 200, not a string");
    refused('body < "a"', "body is a string: < compares numbers and durations; use ==, !=, contains or !contains");
    refused("body == ok", 'ok is not a value: write a string in double quotes, e.g. "ok"');
    refused("body == 3", "body is a string: compare it with a string in double quotes, e.g. \"ok\", not a number");
    refused('status contains "2"', /^status is a number: contains reads strings/);
    refused("connected > true", "connected is true or false: compare it with == or !=, not >", checkTypes.tcp.fields);
    refused("connected == 1", "connected is true or false: compare it with true or false, not a number", checkTypes.tcp.fields);
    refused("status > null", "null is compared with == or != only, not >");
    refused('body == "open', /is not a complete string/);
    refused('body.json.count > "3"', "> compares numbers: write a number after it, not a string");
    refused("body.json.name contains 3", "contains reads strings: write a string in double quotes after it, not a number");
    refused("body.json.age > 3d", /is a JSON value: .* not a duration/);
  });
});
