/**
 * A proxy worker's control thread (worker_threads). It reads route tables from the controller on
 * the worker's control pipe (fd 4, a pipe of its own, apart from the IPC channel the request thread
 * serves), publishes each into the shared table buffer, and only then acknowledges it on the same
 * pipe. Request work on the worker's main thread cannot delay any of this: the thread has its own
 * event loop, and the request thread picks the table up synchronously on its next request.
 */
import { Socket } from "node:net";
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { ackFrame, FrameReader, TableWriter } from "./shared-table.js";

export interface ControlThreadData {
  buffer: SharedArrayBuffer;
  /** Tables bigger than the buffer are posted here. */
  port: MessagePort;
  /** The control pipe's file descriptor in this process. */
  fd: number;
}

const data = workerData as ControlThreadData;
const writer = new TableWriter(data.buffer, data.port);
const pipe = new Socket({ fd: data.fd, readable: true, writable: true });

const frames = new FrameReader(true, (version, json) => {
  writer.publish(version, json);
  pipe.write(ackFrame(version));
  // A hint for the request thread to pick the table up while it idles (it also does on its next request).
  parentPort!.postMessage(version);
});

pipe.on("data", (chunk: Buffer) => frames.push(chunk));
// The controller is gone: nothing more will come; the request thread exits on its own disconnect.
pipe.on("close", () => parentPort!.close());
pipe.on("error", () => pipe.destroy());
