// TEST ONLY. Lets a test stop the worker pool at chosen points so that what happens there is
// deterministic: claims paused (a submitted task stays WAITING), and the next claimed task of a
// type held in PROCESSING, lease renewed, before its handler runs, until released (or until the
// test kills the process: the kill -9 and resume checks of test/lifecycle.test.ts).
//
// Never part of production: app.ts creates a TaskHolds, hands it to the pool and mounts its
// /_openvod/test endpoints (src/http/testHooks.ts) only when OPENVOD_TEST_HOOKS is set; without it
// the pool has no holds at all (a plain undefined, no check on the hot path beyond that) and the
// paths are unknown ones, answered UnsupportedProtocol like any (checked by test/lifecycle.test.ts).
import type { TaskRow } from "../store/types.js";

export class TaskHolds {
  private paused = false;
  private resumed: (() => void)[] = [];
  /** Task types whose next claimed task is held. */
  private readonly armed = new Set<string>();
  /** Held tasks by TaskId, with what lets them go. */
  private readonly held = new Map<string, { taskType: string; release(): void }>();

  /** Stops (true) or restarts (false) claiming. A pool already waiting to claim sees it at its next claim. */
  pauseClaims(paused: boolean): void {
    this.paused = paused;
    if (!paused) for (const r of this.resumed.splice(0)) r();
  }

  /** Resolves once claiming is allowed, or when the signal aborts (a stopping pool). */
  async beforeClaim(signal: AbortSignal): Promise<void> {
    while (this.paused && !signal.aborted)
      await new Promise<void>((r) => {
        this.resumed.push(r);
        signal.addEventListener("abort", () => r(), { once: true });
      });
  }

  /** The next claimed task of taskType will wait in PROCESSING until release(taskType). */
  hold(taskType: string): void {
    this.armed.add(taskType);
  }

  /** Lets the held tasks of taskType run, and disarms the hold. */
  release(taskType: string): string[] {
    this.armed.delete(taskType);
    const released: string[] = [];
    for (const [taskId, h] of this.held)
      if (h.taskType === taskType) {
        this.held.delete(taskId);
        h.release();
        released.push(taskId);
      }
    return released;
  }

  /** TaskIds waiting at the hold now. */
  heldTasks(): string[] {
    return [...this.held.keys()];
  }

  /** Called by the pool with a claimed task, before its handler: waits when its type is armed. */
  async beforeRun(task: TaskRow, signal: AbortSignal): Promise<void> {
    if (!this.armed.delete(task.taskType)) return;
    await new Promise<void>((resolve) => {
      const release = () => {
        this.held.delete(task.taskId);
        resolve();
      };
      this.held.set(task.taskId, { taskType: task.taskType, release });
      signal.addEventListener("abort", release, { once: true });
    });
  }
}
