/**
 * For the alert tests: channels that record what they get (or hang), and a manager on the real
 * SQLite store with the notify adapter's real Notifier in front of those channels.
 */
import { ManualClock } from "../core/index.js";
import { Notifier, type Channel, type Notification } from "../notify/index.js";
import { SqliteStore, type Store } from "../store/index.js";
import { parseAlertsConfig } from "./config.js";
import { AlertManager } from "./manager.js";
import type { AlertSignal } from "./types.js";

/** A migrated, empty store with its clock (what the store's test backends give). */
interface TestStore {
  store: Store;
  clock: ManualClock;
  cleanup(): Promise<void>;
}

/** A channel that accepts everything and keeps it. */
export class RecordingChannel implements Channel {
  readonly type = "recording";
  readonly got: Notification[] = [];
  constructor(readonly name: string) {}
  async send(notification: Notification): Promise<void> {
    this.got.push(notification);
  }
}

/** A channel whose attempts never end (until aborted). */
export class HangingChannel implements Channel {
  readonly type = "hanging";
  readonly timeoutMs = 3_600_000;
  started = 0;
  constructor(readonly name: string) {}
  send(_notification: Notification, signal: AbortSignal): Promise<void> {
    this.started++;
    return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));
  }
}

export interface Harness {
  clock: ManualClock;
  store: Store;
  manager: AlertManager;
  notifier: Notifier;
  channels: Channel[];
  /** A new manager on the same store and clock (the old one stopped), as after an engine restart. */
  restart(): Promise<AlertManager>;
  /** Lets queued writes and deliveries finish. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/** A migrated, empty SQLite store in memory (the default backend of the harness). */
async function sqliteStore(): Promise<TestStore> {
  const clock = new ManualClock();
  const store = new SqliteStore({ path: ":memory:", clock });
  await store.migrate();
  return { store, clock, cleanup: () => store.close() };
}

export async function harness(
  config: unknown = {},
  channels: Channel[] = [new RecordingChannel("ops"), new RecordingChannel("mail")],
  backend: () => Promise<TestStore> = sqliteStore,
): Promise<Harness> {
  const { store, clock, cleanup } = await backend();
  const notifier = new Notifier({ channels, clock });
  const make = async () => {
    const m = new AlertManager({ store, clock, config: parseAlertsConfig(config, channels.map((c) => c.name)), channels: channels.map((c) => c.name), outbox: notifier, externalURL: "http://127.0.0.1:7070" });
    await m.start();
    return m;
  };
  let manager = await make();
  const unsubscribe = notifier.subscribe((d) => h.manager.recordDelivery(d));
  const settle = async () => {
    for (let i = 0; i < 20; i++) {
      await h.manager.idle();
      await new Promise((r) => setImmediate(r));
    }
  };
  const h: Harness = {
    clock,
    store,
    manager,
    notifier,
    channels,
    settle,
    async restart() {
      await h.manager.stop();
      manager = await make();
      h.manager = manager;
      return manager;
    },
    async close() {
      await h.manager.stop();
      unsubscribe();
      await notifier.close();
      await cleanup();
    },
  };
  return h;
}

/** A check-down signal for a service in an environment. */
export function checkDown(service: string, environment = "production", extra: Record<string, string> = {}, active = true): AlertSignal {
  return {
    rule: "check-down",
    severity: "page",
    labels: { service, environment, check: `${service}.${environment}`, ...extra },
    annotations: { summary: `${service} is down in ${environment}` },
    active,
  };
}
