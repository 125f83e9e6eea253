/**
 * The book of check results: per check, the open minute, and the closed minutes of the current hour
 * and day, in memory; closed buckets in the store. A minute is written when it closes (one
 * transaction for every check's minute), an hour and a day when they close, rolled up from the
 * minutes in memory; what a stopped engine did not roll up is rolled up from the store at start.
 * Uptime and percentiles read the store's closed buckets plus what is in memory.
 */
import type { CheckBucketRecord, CheckRepo, CheckResolution, CheckStateRecord } from "../store/index.js";
import { addRun, bucketStart, dayMs, emptyBucket, hourMs, mergeInto, minuteMs, resolutionMs, retentionMs, rollUp, sumBuckets, totalsByName } from "./aggregates.js";

interface Open {
  minute: CheckBucketRecord;
  /** Closed minutes of the current hour. */
  hour: CheckBucketRecord;
  /** Closed minutes of the current day. */
  day: CheckBucketRecord;
}

/** A check's results over the standard windows. */
export interface WindowTotals {
  "24h": CheckBucketRecord;
  "7d": CheckBucketRecord;
  "30d": CheckBucketRecord;
}

export class ResultBook {
  readonly #repo: CheckRepo;
  readonly #open = new Map<string, Open>();
  #minute = 0;

  constructor(repo: CheckRepo) {
    this.#repo = repo;
  }

  /** The start of the open minute. */
  get openMinute(): number {
    return this.#minute;
  }

  /**
   * Opens the book at `now`: rolls up the hours and days a stopped engine left un-rolled, prunes,
   * and loads the current minute, hour and day so far.
   */
  async open(now: number): Promise<void> {
    this.#minute = bucketStart(now, "minute");
    const hour = bucketStart(now, "hour");
    const day = bucketStart(now, "day");
    await this.#catchUp("hour", "minute", hour);
    await this.#catchUp("day", "hour", day);
    await this.prune(now);
    const minutes = await this.#repo.buckets({ resolution: "minute", from: hour });
    const hours = await this.#repo.buckets({ resolution: "hour", from: day, to: hour });
    for (const bucket of minutes) {
      const open = this.#get(bucket.name);
      if (bucket.start === this.#minute) mergeInto(open.minute, bucket);
      else {
        mergeInto(open.hour, bucket);
        mergeInto(open.day, bucket);
      }
    }
    for (const bucket of hours) mergeInto(this.#get(bucket.name).day, bucket);
  }

  /** Counts one run of a check into the open minute. */
  add(name: string, ok: boolean, durationMs: number): void {
    addRun(this.#get(name).minute, ok, durationMs);
  }

  /**
   * Closes the open minute and opens the one holding `now`: writes every check's closed minute (and
   * `states`) in one transaction, then the hour and the day when they closed too.
   */
  async close(now: number, states: readonly CheckStateRecord[]): Promise<void> {
    const next = bucketStart(now, "minute");
    if (next <= this.#minute) {
      await this.#repo.saveStates(states);
      return;
    }
    const minutes: CheckBucketRecord[] = [];
    const hourClosed = bucketStart(next, "hour") !== bucketStart(this.#minute, "hour");
    const dayClosed = bucketStart(next, "day") !== bucketStart(this.#minute, "day");
    const hours: CheckBucketRecord[] = [];
    const days: CheckBucketRecord[] = [];
    for (const [name, open] of this.#open) {
      if (open.minute.runs > 0) {
        minutes.push(open.minute);
        mergeInto(open.hour, open.minute);
        mergeInto(open.day, open.minute);
      }
      open.minute = emptyBucket(name, next);
      if (hourClosed) {
        if (open.hour.runs > 0) hours.push(open.hour);
        open.hour = emptyBucket(name, bucketStart(next, "hour"));
      }
      if (dayClosed) {
        if (open.day.runs > 0) days.push(open.day);
        else this.#open.delete(name); // a check gone for a whole day leaves nothing open
        open.day = emptyBucket(name, bucketStart(next, "day"));
      }
    }
    this.#minute = next;
    await this.#repo.writeBuckets("minute", minutes, states);
    if (hourClosed) {
      await this.#repo.writeBuckets("hour", hours);
      await this.prune(now);
    }
    if (dayClosed) await this.#repo.writeBuckets("day", days);
  }

  /** Writes the open minute as it is so far (at stop); the next start loads it and goes on counting. */
  async save(states: readonly CheckStateRecord[]): Promise<void> {
    const minutes = [...this.#open.values()].map((o) => o.minute).filter((m) => m.runs > 0);
    await this.#repo.writeBuckets("minute", minutes, states);
  }

  /** Deletes buckets older than their retention. */
  async prune(now: number): Promise<void> {
    for (const resolution of ["minute", "hour", "day"] as const) {
      await this.#repo.prune(resolution, bucketStart(now - retentionMs[resolution], resolution));
    }
  }

  /**
   * Every check's totals over the last 24 h (the last 24 hours, this one included), 7 d and 30 d (the
   * last 7 and 30 UTC days, today included), from the store's closed buckets and the open ones.
   */
  async windows(now: number): Promise<Map<string, WindowTotals>> {
    const hour = bucketStart(now, "hour");
    const day = bucketStart(now, "day");
    const hours = totalsByName(await this.#repo.buckets({ resolution: "hour", from: hour - 23 * hourMs, to: hour }), 0);
    const days = await this.#repo.buckets({ resolution: "day", from: day - 29 * dayMs, to: day });
    const week = totalsByName(days.filter((d) => d.start >= day - 6 * dayMs), 0);
    const month = totalsByName(days, 0);
    const names = new Set([...this.#open.keys(), ...hours.keys(), ...month.keys()]);
    const out = new Map<string, WindowTotals>();
    for (const name of names) {
      const open = this.#open.get(name);
      const sum = (closed: CheckBucketRecord | undefined, current: CheckBucketRecord | undefined) =>
        sumBuckets(name, 0, [closed, current, open?.minute].filter((b): b is CheckBucketRecord => b !== undefined));
      out.set(name, { "24h": sum(hours.get(name), open?.hour), "7d": sum(week.get(name), open?.day), "30d": sum(month.get(name), open?.day) });
    }
    return out;
  }

  /** One check's buckets at a resolution from `from` on, the open one last (as far as it goes). */
  async history(name: string, resolution: CheckResolution, from: number): Promise<CheckBucketRecord[]> {
    const start = bucketStart(from, resolution);
    const current = bucketStart(this.#minute, resolution);
    const stored = await this.#repo.buckets({ resolution, from: start, to: current, name });
    const open = this.#open.get(name);
    if (!open) return stored;
    const parts = resolution === "minute" ? [open.minute] : [resolution === "hour" ? open.hour : open.day, open.minute];
    const last = sumBuckets(name, current, parts);
    // Minutes of the current hour the store has, not yet rolled up: for hour and day, the open
    // buckets above already hold them.
    return last.runs > 0 ? [...stored, last] : stored;
  }

  /** Rolls `fine` buckets up into `coarse` ones for the periods after the newest coarse bucket, up to `until`. */
  async #catchUp(coarse: CheckResolution, fine: CheckResolution, until: number): Promise<void> {
    const newest = await this.#repo.newest(coarse);
    const from = newest === undefined ? until - retentionMs[fine] : newest + resolutionMs[coarse];
    if (from >= until) return;
    const rows = await this.#repo.buckets({ resolution: fine, from, to: until });
    await this.#repo.writeBuckets(coarse, rollUp(rows, coarse));
  }

  #get(name: string): Open {
    let open = this.#open.get(name);
    if (!open) {
      open = { minute: emptyBucket(name, this.#minute), hour: emptyBucket(name, bucketStart(this.#minute, "hour")), day: emptyBucket(name, bucketStart(this.#minute, "day")) };
      this.#open.set(name, open);
    }
    return open;
  }
}

export { minuteMs };
