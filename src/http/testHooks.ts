// Endpoints for tests only (OPENVOD_TEST_HOOKS=true): move the server's clock forward so tests
// can check 30-second confirmation windows and retention without sleeping, and run the sweep of
// expired upload sessions at once.
import type { FastifyInstance } from "fastify";
import type { Deps } from "../domain/deps.js";
import { sweepUploads } from "../domain/uploads.js";

export class TestClock {
  private offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export function registerTestHooks(app: FastifyInstance, deps: Deps, clock: TestClock): void {
  deps.log.warn("test hooks are enabled: the clock can be moved through /_openvod/test/clock");
  app.post("/_openvod/test/clock", async (req) => {
    const body = JSON.parse(String(req.body ?? "{}")) as { advanceMs?: number };
    clock.advance(Number(body.advanceMs ?? 0));
    deps.events.notify(-1);
    deps.wakeWorkers();
    return { now: clock.now() };
  });
  // The sweep of expired upload sessions, now rather than at its next minute.
  app.post("/_openvod/test/sweep-uploads", async () => ({ removed: await sweepUploads(deps) }));
}
