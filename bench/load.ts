// HTTP/1.1 load generators over `connections` keep-alive sockets, each with one request in
// flight at a time (no pipelining), sending the same pre-built request bytes for a fixed
// duration. runLoad is closed-loop (as fast as answers come: throughput); runFixedRate is
// open-loop (requests due at a fixed rate: latency at a given load, measured from when each was
// due, so a stall delays and counts against every request queued behind it).
//
// It writes raw bytes on net sockets instead of going through an HTTP client library: on a
// 2-core machine the load generator shares the CPU with the server under test, and a full client
// (undici measured ~25 µs CPU per request here) can become the limit for a bare node:http server,
// which would flatter every ratio against it. Responses must carry Content-Length (both servers
// benchmarked here always do); anything else counts as an error.
import { connect, type Socket } from "node:net";
import { performance } from "node:perf_hooks";

export interface LoadOptions {
  /** http://host:port */
  origin: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  durationMs: number;
  /** True when a response is the expected answer (checked on every response). */
  check: (status: number, body: Buffer) => boolean;
  /** Called right when the timed part starts and ends (e.g. to read the server's CPU time). */
  onMeasureStart?: () => void;
  onMeasureEnd?: () => void;
}

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time the load generator itself used, per request (µs): shows when it is the bottleneck. */
  clientCpuUsPerReq: number;
  firstError?: string;
}

export interface FixedRateResult {
  rate: number;
  requests: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  firstError?: string;
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** The request as it goes on the wire; Host and Content-Length are added like any client does. */
export function buildRequest(origin: string, headers: Record<string, string>, body: string): Buffer {
  const url = new URL(origin);
  const bodyBytes = Buffer.from(body, "utf8");
  const lines = [`POST / HTTP/1.1`, `host: ${url.host}`, `connection: keep-alive`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  lines.push(`content-length: ${bodyBytes.length}`);
  return Buffer.concat([Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1"), bodyBytes]);
}

const CRLF2 = Buffer.from("\r\n\r\n");
const WARMUP_MS = 1000;

/** One keep-alive connection that answers requests one at a time. */
class Connection {
  private readonly socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private waiting: ((r: { status: number; body: Buffer } | Error) => void) | undefined;
  private failed: Error | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
      this.parse();
    });
    const fail = (err: Error) => {
      this.failed ??= err;
      const w = this.waiting;
      this.waiting = undefined;
      w?.(this.failed);
    };
    socket.on("error", fail);
    socket.on("close", () => fail(new Error("connection closed by the server")));
  }

  static open(host: string, port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new Connection(socket));
      });
      socket.once("error", reject);
    });
  }

  send(request: Buffer): Promise<{ status: number; body: Buffer }> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiting = (r) => (r instanceof Error ? reject(r) : resolve(r));
      this.socket.write(request);
    });
  }

  private parse(): void {
    const end = this.buf.indexOf(CRLF2);
    if (end < 0) return;
    const head = this.buf.toString("latin1", 0, end);
    const status = Number(head.slice(9, 12));
    const m = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!m) {
      this.socket.destroy(new Error(`response without Content-Length: ${head.slice(0, 200)}`));
      return;
    }
    const total = end + 4 + Number(m[1]);
    if (this.buf.length < total) return;
    const body = this.buf.subarray(end + 4, total);
    this.buf = this.buf.length === total ? Buffer.alloc(0) : this.buf.subarray(total);
    const w = this.waiting;
    this.waiting = undefined;
    w?.({ status, body });
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Opens the connections and keeps them busy for WARMUP_MS before the clock starts: V8 optimizes
 * a function after thousands of calls, and a server with a long request path (openvod) would
 * otherwise spend its first measured second in the interpreter while a tiny one (the bare
 * baseline) does not, which measured openvod's first round ~30 % slower than its second.
 */
async function warmConnections(o: Pick<LoadOptions, "origin" | "connections">, request: Buffer) {
  const url = new URL(o.origin);
  const conns = await Promise.all(
    Array.from({ length: o.connections }, () => Connection.open(url.hostname, Number(url.port))),
  );
  try {
    const until = performance.now() + WARMUP_MS;
    await Promise.all(
      conns.map(async (c) => {
        do await c.send(request);
        while (performance.now() < until);
      }),
    );
  } catch (err) {
    for (const c of conns) c.close();
    throw err;
  }
  return conns;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const request = buildRequest(o.origin, o.headers, o.body);
  const conns = await warmConnections(o, request);
  try {

    let latencies = new Float64Array(1 << 16);
    let n = 0;
    let errors = 0;
    let firstError: string | undefined;
    o.onMeasureStart?.();
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    const end = start + o.durationMs;
    const loop = async (c: Connection) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          const r = await c.send(request);
          const t1 = performance.now();
          if (!o.check(r.status, r.body)) {
            errors++;
            firstError ??= `HTTP ${r.status}: ${r.body.toString("utf8", 0, 300)}`;
            continue;
          }
          if (n === latencies.length) {
            const bigger = new Float64Array(latencies.length * 2);
            bigger.set(latencies);
            latencies = bigger;
          }
          latencies[n++] = t1 - t0;
        } catch (err) {
          errors++;
          firstError ??= String(err);
          return; // this connection is gone
        }
      }
    };
    await Promise.all(conns.map(loop));
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    o.onMeasureEnd?.();
    const sorted = latencies.subarray(0, n).sort();
    return {
      requests: n,
      errors,
      seconds,
      rps: n / seconds,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      clientCpuUsPerReq: (cpu.user + cpu.system) / Math.max(1, n + errors),
      firstError,
    };
  } finally {
    for (const c of conns) c.close();
  }
}

/**
 * Sends `rate` requests a second for `durationMs`, each due at its own instant, on whichever
 * connection is free (a request waits for one when all are busy, and its wait counts).
 */
export async function runFixedRate(
  o: Omit<LoadOptions, "onMeasureStart" | "onMeasureEnd"> & { rate: number },
): Promise<FixedRateResult> {
  const request = buildRequest(o.origin, o.headers, o.body);
  const conns = await warmConnections(o, request);
  const free = [...conns];
  const queued: number[] = [];
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let inFlight = 0;
  const total = Math.round((o.rate * o.durationMs) / 1000);
  const interval = 1000 / o.rate;
  try {
    await new Promise<void>((resolve) => {
      let sent = 0;
      let finished = 0;
      const settle = () => {
        if (++finished === total) resolve();
      };
      if (total === 0) return resolve();
      const dispatch = () => {
        while (queued.length > 0 && free.length > 0) {
          const due = queued.shift()!;
          const c = free.pop()!;
          inFlight++;
          c.send(request).then(
            (r) => {
              latencies.push(performance.now() - due);
              if (!o.check(r.status, r.body)) {
                errors++;
                firstError ??= `HTTP ${r.status}: ${r.body.toString("utf8", 0, 300)}`;
              }
              inFlight--;
              free.push(c);
              dispatch();
              settle();
            },
            (err) => {
              errors++;
              firstError ??= String(err);
              inFlight--;
              settle(); // this connection is gone
              dispatch();
            },
          );
        }
        if (queued.length > 0 && inFlight === 0 && free.length === 0) {
          // Every connection failed: the rest can never be sent.
          errors += queued.length;
          for (const _ of queued.splice(0)) settle();
        }
      };
      const start = performance.now();
      // Timers fire late and in bursts; each tick queues every request whose instant has passed,
      // stamped with that instant, not with the tick's.
      const tick = () => {
        const now = performance.now();
        while (sent < total && start + sent * interval <= now) queued.push(start + interval * sent++);
        dispatch();
        if (sent < total) setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
      };
      tick();
    });
    const sorted = Float64Array.from(latencies).sort();
    return {
      rate: o.rate,
      requests: latencies.length,
      errors,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted.length ? sorted[sorted.length - 1]! : NaN,
      firstError,
    };
  } finally {
    for (const c of conns) c.close();
  }
}
