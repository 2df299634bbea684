// The MD5 thread of the COS endpoint (src/cos/md5.ts): hashes the bodies being received while
// the main thread goes on reading the socket and writing the file, so a multi-GB upload is not
// held to the speed of one core doing both. Each buffer goes back to the main thread once
// hashed, to be filled again: no allocation per chunk, and memory bounded by the pool.
import { createHash, type Hash } from "node:crypto";
import { parentPort } from "node:worker_threads";

export type ToWorker =
  { id: number; buf: ArrayBuffer; length: number } | { id: number; end: true } | { id: number; cancel: true };
export type FromWorker = { id: number; buf?: ArrayBuffer; digest?: string };

const hashes = new Map<number, Hash>();

parentPort!.on("message", (m: ToWorker) => {
  if ("cancel" in m) {
    hashes.delete(m.id);
    return;
  }
  let hash = hashes.get(m.id);
  if (!hash) hashes.set(m.id, (hash = createHash("md5")));
  if ("buf" in m) {
    hash.update(new Uint8Array(m.buf, 0, m.length));
    parentPort!.postMessage({ id: m.id, buf: m.buf } satisfies FromWorker, [m.buf]);
    return;
  }
  hashes.delete(m.id);
  parentPort!.postMessage({ id: m.id, digest: hash.digest("hex") } satisfies FromWorker);
});
