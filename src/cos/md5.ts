// MD5 of request bodies as they stream in. Content-MD5 checks and ETags need the MD5 of every
// uploaded byte; hashing on the event loop would cost upload throughput (MD5 runs at about the
// speed Node receives and writes a body), so bodies of 1 MiB and more are hashed on a worker
// thread (src/cos/md5Worker.ts) beside the socket reads and file writes. Chunks are copied into
// 1 MiB buffers of a bounded pool that travel to the thread and back (transferred, not cloned):
// one message per MiB, no garbage, and a stream waits for a free buffer when the thread is
// behind, so memory stays flat whatever the size of the upload.
import { createHash } from "node:crypto";
import { Worker } from "node:worker_threads";
import type { FromWorker, ToWorker } from "./md5Worker.js";

/** Bodies smaller than this are hashed inline: the thread hop would cost more than it saves. */
const INLINE_BELOW = 1024 * 1024;
const BUFFER_BYTES = 1024 * 1024;
/** Buffers in the pool, shared by every stream being hashed. */
const POOL_SIZE = 16;

export interface Md5Stream {
  /** Hashes a chunk; returns a promise to wait for when the pool is exhausted, else undefined. */
  update(chunk: Buffer): Promise<void> | undefined;
  /** The MD5 of everything given (16 bytes). */
  digest(): Promise<Buffer>;
  /** Drops the stream (the body was refused or the client went away). */
  cancel(): void;
}

class InlineMd5 implements Md5Stream {
  private readonly hash = createHash("md5");
  update(chunk: Buffer): undefined {
    this.hash.update(chunk);
    return undefined;
  }
  async digest(): Promise<Buffer> {
    return this.hash.digest();
  }
  cancel(): void {}
}

class Md5Thread {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly free: ArrayBuffer[] = [];
  private allocated = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly digests = new Map<number, { resolve(d: Buffer): void; reject(e: Error): void }>();
  private readonly live = new Set<number>();

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL("./md5Worker.js", import.meta.url));
    w.unref();
    w.on("message", (m: FromWorker) => {
      if (m.buf) this.release(m.buf);
      if (m.digest !== undefined) {
        this.digests.get(m.id)?.resolve(Buffer.from(m.digest, "hex"));
        this.digests.delete(m.id);
      }
    });
    const fail = (err: Error) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      // Buffers inside the dead thread are lost: the pool starts over.
      this.allocated = this.free.length;
      this.live.clear();
      for (const d of this.digests.values()) d.reject(err);
      this.digests.clear();
      for (const wake of this.waiting.splice(0)) wake();
    };
    w.on("error", fail);
    w.on("exit", (code) => fail(new Error(`the MD5 thread exited with code ${code}`)));
    this.worker = w;
    return w;
  }

  private release(buf: ArrayBuffer): void {
    this.free.push(buf);
    this.waiting.shift()?.();
  }

  /** A free buffer, or undefined (then wait for `whenFree`). */
  private take(): ArrayBuffer | undefined {
    const b = this.free.pop();
    if (b) return b;
    if (this.allocated < POOL_SIZE) {
      this.allocated++;
      return new ArrayBuffer(BUFFER_BYTES);
    }
    return undefined;
  }

  private whenFree(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  start(): Md5Stream {
    const worker = this.ensure();
    const id = this.nextId++;
    this.live.add(id);
    let buf: ArrayBuffer | undefined;
    let used = 0;
    const post = (m: ToWorker, transfer?: ArrayBuffer[]) => worker.postMessage(m, transfer);
    const check = () => {
      if (!this.live.has(id)) throw new Error("the MD5 thread failed");
    };
    const flush = () => {
      if (!buf || used === 0) return;
      post({ id, buf, length: used }, [buf]);
      buf = undefined;
      used = 0;
    };
    /** Copies what fits; returns the bytes of `chunk` not taken yet. */
    const fill = (chunk: Buffer, from: number): number => {
      while (from < chunk.length) {
        if (!buf) {
          buf = this.take();
          if (!buf) return from;
        }
        const n = Math.min(chunk.length - from, BUFFER_BYTES - used);
        chunk.copy(new Uint8Array(buf), used, from, from + n);
        used += n;
        from += n;
        if (used === BUFFER_BYTES) flush();
      }
      return from;
    };
    return {
      update: (chunk) => {
        check();
        const done = fill(chunk, 0);
        if (done === chunk.length) return undefined;
        // The pool is exhausted: the rest of this chunk goes in as buffers come back.
        return (async () => {
          let from = done;
          while (from < chunk.length) {
            await this.whenFree();
            check();
            from = fill(chunk, from);
          }
        })();
      },
      digest: () =>
        new Promise<Buffer>((resolve, reject) => {
          if (!this.live.has(id)) return reject(new Error("the MD5 thread failed"));
          flush();
          this.live.delete(id);
          this.digests.set(id, { resolve, reject });
          post({ id, end: true });
        }),
      cancel: () => {
        if (!this.live.delete(id)) return;
        if (buf) this.release(buf);
        buf = undefined;
        post({ id, cancel: true });
      },
    };
  }

  async close(): Promise<void> {
    const w = this.worker;
    await w?.terminate();
  }
}

const thread = new Md5Thread();

/** An MD5 stream for a body of `expectedBytes` (unknown: assume large). */
export function startMd5(expectedBytes: number | undefined): Md5Stream {
  return expectedBytes !== undefined && expectedBytes < INLINE_BELOW ? new InlineMd5() : thread.start();
}

export function closeMd5Thread(): Promise<void> {
  return thread.close();
}
