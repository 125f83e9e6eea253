import assert from "node:assert/strict";
import { test } from "node:test";
import { MessageChannel, Worker } from "node:worker_threads";
import { ackFrame, createTableBuffer, FrameReader, noVersion, TableReader, TableWriter, tableFrame } from "./shared-table.js";

const json = (version: number, size: number) => Buffer.from(JSON.stringify({ version, pad: "x".repeat(size) }));

test("frames survive any split of the byte stream, one byte at a time included", () => {
  const frames = [tableFrame(0, Buffer.from("[]")), tableFrame(7, json(7, 3000)), tableFrame(8, Buffer.alloc(0)), tableFrame(4_000_000_000, Buffer.from("[1]"))];
  const stream = Buffer.concat(frames);
  for (const step of [1, 3, 8, 1000, stream.length]) {
    const seen: [number, string][] = [];
    const reader = new FrameReader(true, (version, body) => seen.push([version, body.toString()]));
    for (let i = 0; i < stream.length; i += step) reader.push(stream.subarray(i, i + step));
    assert.deepEqual(
      seen.map(([v]) => v),
      [0, 7, 8, 4_000_000_000],
    );
    assert.equal(seen[1]![1], json(7, 3000).toString());
    assert.equal(seen[2]![1], "");
  }
  const acks: number[] = [];
  const ackReader = new FrameReader(false, (version) => acks.push(version));
  const ackStream = Buffer.concat([ackFrame(1), ackFrame(2), ackFrame(300)]);
  for (let i = 0; i < ackStream.length; i++) ackReader.push(ackStream.subarray(i, i + 1));
  assert.deepEqual(acks, [1, 2, 300]);
});

test("a reader sees the table published last, inline or posted, in one thread", () => {
  const buffer = createTableBuffer(100);
  const { port1, port2 } = new MessageChannel();
  const writer = new TableWriter(buffer, port2);
  const reader = new TableReader(buffer, port1);
  try {
    assert.equal(reader.version(), noVersion);
    assert.equal(writer.publish(0, Buffer.from("[]")), "inline");
    assert.deepEqual(reader.read(), { version: 0, json: "[]" });
    assert.equal(writer.publish(1, json(1, 500)), "posted");
    assert.equal(reader.version(), 1);
    assert.equal(reader.read().json, json(1, 500).toString());
    // Two posted tables before a read: the later one wins; then inline again.
    writer.publish(2, json(2, 500));
    writer.publish(3, json(3, 600));
    assert.equal(JSON.parse(reader.read().json).version, 3);
    writer.publish(4, json(4, 10));
    assert.equal(JSON.parse(reader.read().json).version, 4);
  } finally {
    port1.close();
    port2.close();
  }
});

test("a reader never sees a torn table while another thread publishes as fast as it can", async () => {
  // Sizes alternate around the buffer's size, so both paths and the switches between them race the reader.
  const buffer = createTableBuffer(4096);
  const { port1, port2 } = new MessageChannel();
  const reader = new TableReader(buffer, port1);
  const tsx = import.meta.resolve("tsx/esm/api");
  const module = new URL("./shared-table.ts", import.meta.url).href;
  const writerThread = new Worker(
    `const { workerData } = require("node:worker_threads");
     import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(module)}); }).then(({ TableWriter }) => {
       const writer = new TableWriter(workerData.buffer, workerData.port);
       for (let v = 0; v < workerData.count; v++) {
         const size = [10, 4000, 5000, 100, 9000][v % 5];
         writer.publish(v, Buffer.from(JSON.stringify({ version: v, pad: String(v % 10).repeat(size) })));
       }
       // Stays up until told: a thread's posted messages go when it ends.
       require("node:worker_threads").parentPort.postMessage("done");
     });`,
    { eval: true, workerData: { buffer, port: port2, count: 3000 }, transferList: [port2] },
  );
  const done = new Promise<void>((resolve, reject) => writerThread.once("message", () => resolve()).once("error", reject));
  let exited = false;
  done.then(() => (exited = true), () => (exited = true));
  const problems: string[] = [];
  let last = noVersion;
  let reads = 0;
  // Bounded: stops when the writer is done, after 20,000 reads, or after 20 s.
  const deadline = Date.now() + 20_000;
  while (!exited && reads < 20_000 && Date.now() < deadline) {
    await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 50; i++) {
      if (reader.version() === last) continue;
      const { version, json: text } = reader.read();
      reads++;
      const table = JSON.parse(text) as { version: number; pad: string };
      if (table.version !== version) problems.push(`header ${version}, body ${table.version}`);
      if (version < last) problems.push(`went back from ${last} to ${version}`);
      if (table.pad !== String(version % 10).repeat(table.pad.length)) problems.push(`torn body at ${version}`);
      last = version;
    }
  }
  await done;
  const final = reader.read();
  await writerThread.terminate();
  port1.close();
  assert.deepEqual(problems, []);
  assert.equal(final.version, 2999);
  assert.ok(reads > 10, `only ${reads} reads raced the writer`);
});
