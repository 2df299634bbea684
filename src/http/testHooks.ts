// Endpoints for tests only (OPENVOD_TEST_HOOKS=true; never in production, where they are not
// mounted and their paths answer UnsupportedProtocol as any unknown path does): move the
// server's clock forward so tests can check 30-second confirmation windows and retention without
// sleeping, run the sweep of expired upload sessions at once, and pause the worker pool or hold a
// task in PROCESSING (src/queue/testHolds.ts).
import type { FastifyInstance } from "fastify";
import type { Deps } from "../domain/deps.js";
import { sweepUploads } from "../domain/uploads.js";
import type { TaskHolds } from "../queue/testHolds.js";

export class TestClock {
  private offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/** The JSON body, whether the server's parsers left it as text or parsed it already. */
const body = (raw: unknown): Record<string, unknown> =>
  raw !== null && typeof raw === "object" && !Buffer.isBuffer(raw)
    ? (raw as Record<string, unknown>)
    : (JSON.parse(String(raw ?? "") || "{}") as Record<string, unknown>);

export function registerTestHooks(
  app: FastifyInstance,
  deps: Deps,
  clock: TestClock,
  holds: TaskHolds | undefined,
): void {
  deps.log.warn("test hooks are enabled: the clock and the workers can be driven through /_openvod/test");
  app.post("/_openvod/test/clock", async (req) => {
    clock.advance(Number(body(req.body).advanceMs ?? 0));
    deps.events.notify(-1);
    deps.wakeWorkers();
    return { now: clock.now() };
  });
  // The sweep of expired upload sessions, now rather than at its next minute.
  app.post("/_openvod/test/sweep-uploads", async () => ({ removed: await sweepUploads(deps) }));
  if (!holds) return; // an api-role process runs no workers
  // {"paused": true}: no task is claimed (submissions stay WAITING) until {"paused": false}.
  app.post("/_openvod/test/workers", async (req) => {
    const paused = body(req.body).paused === true;
    holds.pauseClaims(paused);
    if (!paused) deps.wakeWorkers();
    return { paused };
  });
  // {"TaskType": "X"}: the next claimed X task waits in PROCESSING; GET lists the held TaskIds.
  app.post("/_openvod/test/hold", async (req) => {
    const taskType = String(body(req.body).TaskType ?? "");
    holds.hold(taskType);
    return { held: taskType };
  });
  app.get("/_openvod/test/hold", async () => ({ tasks: holds.heldTasks() }));
  app.post("/_openvod/test/release", async (req) => ({
    released: holds.release(String(body(req.body).TaskType ?? "")),
  }));
}
