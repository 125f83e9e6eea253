/** Shared by the notify tests: a sample notification, an HTTP receiver on 127.0.0.1, and a short poll. */
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { NotifiedAlert, Notification } from "./types.js";

export const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);

export function sampleAlert(overrides: Partial<NotifiedAlert> = {}): NotifiedAlert {
  return {
    id: "alr_1",
    status: "firing",
    labels: { alertname: "check-down", severity: "page", service: "web", environment: "production" },
    annotations: { summary: "web is down in production", description: "3 failures in a row: connection refused" },
    startsAt: t0,
    endsAt: null,
    fingerprint: "5f1c0a9e2b7d4c31",
    ...overrides,
  };
}

export function sampleNotification(overrides: Partial<Notification> = {}): Notification {
  const alerts = overrides.alerts ?? [sampleAlert(), sampleAlert({ id: "alr_2", labels: { alertname: "check-down", severity: "page", service: "api", environment: "production" }, fingerprint: "0a1b2c3d4e5f6a7b" })];
  return {
    id: "ntf_1",
    kind: "alerts",
    status: "firing",
    receiver: "ops",
    groupKey: '{}:{alertname="check-down"}',
    groupLabels: { alertname: "check-down" },
    commonLabels: { alertname: "check-down", severity: "page", environment: "production" },
    commonAnnotations: {},
    externalURL: "http://127.0.0.1:7070",
    alerts,
    truncatedAlerts: 0,
    reason: "new",
    title: "[FIRING:2] check-down (production)",
    ...overrides,
  };
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface Receiver {
  /** The base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 that records every request and lets `answer` reply (or not, to hang). */
export async function startReceiver(answer: (request: ReceivedRequest, response: ServerResponse, index: number) => void): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const request = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(request);
      answer(request, res, requests.length - 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Polls `check` every 5 ms until it holds; fails naming `what` after `ms` of real time. */
export async function eventually(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
