// The worker pool. The task table is the source of truth: a worker claims a task atomically
// with a lease, renews the lease while the handler runs (saving progress with it), and ends the
// task FINISH in one transaction with its effects. A task whose worker died is claimed again
// when its lease runs out; after maxTaskAttempts claims it fails with 70000 instead. A task
// stopped by an orderly shutdown is released without counting the attempt. An abort requested
// in the store (ManageTask, DeleteMedia; perhaps by another process) is seen at the next lease
// renewal: the handler's signal is aborted (killing its ffmpeg) and the task ends ABORTED, its
// effects unpublished and the outputs it already stored discarded.
import { randomUUID } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Deps } from "../domain/deps.js";
import { TASK_ABORTED, taskEvents } from "../domain/tasks.js";
import { TaskErrCode, TaskFailure } from "../protocol/errors.js";
import type { LeaseState, NewEvent, TaskEffects, TaskEnd, TaskRow, TaskStatus } from "../store/types.js";
import type { TaskHolds } from "./testHolds.js";

export interface TaskContext {
  readonly task: TaskRow;
  readonly deps: Deps;
  /** Aborted on timeout, lost lease or shutdown; pass it to every child process. */
  readonly signal: AbortSignal;
  /** A private scratch directory, removed when the task ends. */
  readonly tmpDir: string;
  /** The task's evolving state; saved with the next lease renewal and on finish. */
  state: Record<string, unknown>;
  /** Merges into state and asks for an early save so progress shows up promptly. */
  update(patch: Record<string, unknown>): void;
  /** Saves the state now, with the events the change causes, in one transaction. */
  saveNow(events?: NewEvent[]): Promise<void>;
  /**
   * Runs `wait` (waiting on work other workers do, e.g. its segments) with the task's worker
   * slot given back to the pool meanwhile, so the pool can run that work itself; the lease is
   * still renewed.
   */
  idle<T>(wait: () => Promise<T>): Promise<T>;
}

/**
 * Work other than tasks that the pool's slots also run (the segments of segmented sub-tasks):
 * claim() takes one item and returns how to run it, with a signal aborted on shutdown.
 */
export interface WorkSource {
  claim(owner: string): Promise<((signal: AbortSignal) => Promise<void>) | undefined>;
}

export interface TaskResult {
  effects?: TaskEffects;
}

export interface TaskHandler {
  (ctx: TaskContext): Promise<TaskResult | void>;
  /**
   * Removes what a run stored before its task was aborted (outputs already in blob storage),
   * given the state it saved. Must not remove what the media item still references.
   */
  discard?(deps: Deps, task: TaskRow, state: Record<string, unknown>): Promise<void>;
  /**
   * Removes what runs kept for a later run (the pieces of segmented sub-tasks), once none will
   * come: the task was given up or aborted before it ran again.
   */
  leftovers?(deps: Deps, task: TaskRow): Promise<void>;
}

/** The abort reason of a task whose abort was requested (ManageTask, DeleteMedia). */
export class TaskAborted extends Error {
  constructor() {
    super("the task was aborted");
    this.name = "TaskAborted";
  }
}

/** The abort reason of a task whose lease another worker took over: that worker finishes it. */
export class LeaseLost extends Error {
  constructor() {
    super("lease lost");
    this.name = "LeaseLost";
  }
}

/** The abort reason of a task that ran longer than OPENVOD_TASK_TIMEOUT_MS. */
export class TaskTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`task timed out after ${Math.round(timeoutMs / 1000)} s`);
    this.name = "TaskTimeout";
  }
}

/** How long after finding no segment to run the pool looks again. */
const WORK_LOOK_MS = 100;

/** How often progress is saved at most, and how often the lease is renewed at least. */
const SAVE_INTERVAL_MS = 500;

export class WorkerPool {
  private readonly owner = `worker-${process.pid}-${randomUUID().slice(0, 8)}`;
  private running = false;
  private active = 0;
  /** Tasks whose slot is given back while they wait (TaskContext.idle). */
  private waiting = 0;
  /** When the work source is asked next (Date.now() ms). */
  private nextWorkLook = 0;
  private wakeUp: (() => void) | undefined;
  private readonly controllers = new Set<AbortController>();
  private readonly idle = new Set<() => void>();
  private loopDone: Promise<void> | undefined;
  private readonly stopping = new AbortController();

  constructor(
    private readonly deps: Deps,
    private readonly handlers: ReadonlyMap<string, TaskHandler>,
    private readonly work?: WorkSource,
    /** Test hooks only (OPENVOD_TEST_HOOKS): undefined in production. */
    private readonly holds?: TaskHolds,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  wake(): void {
    this.wakeUp?.();
  }

  /** Tasks this pool is running now. */
  get activeTasks(): number {
    return this.active;
  }

  /** The lease owner this pool claims tasks as (`worker-PID-...`). */
  get leaseOwner(): string {
    return this.owner;
  }

  /** Stops claiming, aborts running handlers (their tasks run again on the next start). */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    this.wake();
    for (const c of this.controllers) c.abort(new Error("server shutting down"));
    await this.loopDone;
    while (this.active + this.waiting > 0) await new Promise<void>((r) => this.idle.add(r));
  }

  private async loop(): Promise<void> {
    const { config, store, log } = this.deps;
    while (this.running) {
      if (this.active >= config.workers) {
        await this.sleep(60_000);
        continue;
      }
      if (this.holds) {
        await this.holds.beforeClaim(this.stopping.signal);
        if (!this.running) break;
      }
      // Work of tasks already running (their segments) before new tasks; after a look that
      // found none, not again for a moment (a claim of a short task costs no second query).
      if (this.work && Date.now() >= this.nextWorkLook) {
        const item = await this.work.claim(this.owner).catch((err) => {
          log.error({ err }, "claiming a segment failed");
          return undefined;
        });
        if (item) {
          this.runItem(item);
          continue;
        }
        this.nextWorkLook = Date.now() + WORK_LOOK_MS;
      }
      let task: TaskRow | undefined;
      try {
        task = await store.claimTask(this.owner, this.deps.now(), config.leaseMs);
      } catch (err) {
        log.error({ err }, "claiming a task failed");
      }
      if (!task) {
        // Idle: woken at once by a submission or a finished task; the timer only catches
        // leases that expire (tasks of a crashed worker in cluster mode).
        const untilLook = this.work ? Math.max(1, this.nextWorkLook - Date.now()) : Infinity;
        await this.sleep(Math.min(1000, config.leaseMs, untilLook));
        continue;
      }
      this.active++;
      void this.execute(task).finally(() => {
        this.active--;
        for (const r of this.idle) r();
        this.idle.clear();
        this.wake();
      });
    }
  }

  private runItem(item: (signal: AbortSignal) => Promise<void>): void {
    const controller = new AbortController();
    this.controllers.add(controller);
    this.active++;
    void item(controller.signal)
      .catch((err) => this.deps.log.error({ err }, "a segment failed"))
      .finally(() => {
        this.controllers.delete(controller);
        this.active--;
        for (const r of this.idle) r();
        this.idle.clear();
        this.wake();
      });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = undefined;
        done();
      };
    });
  }

  private async execute(task: TaskRow): Promise<void> {
    const { deps } = this;
    const { store, config, log } = deps;
    const handler = this.handlers.get(task.taskType);
    const end = async (
      status: Extract<TaskStatus, "FINISH" | "ABORTED">,
      outcome: TaskEnd,
      state: Record<string, unknown>,
      effects: TaskEffects = {},
    ) => {
      const done = { ...outcome, status, state, finishTime: deps.now() };
      const finished: TaskRow = { ...task, ...done };
      const events = await taskEvents(deps, finished);
      const r = await store.finishTask(task.taskId, this.owner, done, { ...effects, events });
      if (r === "finished") {
        if (events.length) deps.events.notify(task.appId, events);
        if (effects.insertTasks?.length) deps.wakeWorkers();
        if (status === "ABORTED") await discard(state);
      } else if (r !== "lost") {
        // Asked to stop, or the item it processed was deleted, while it ran: nothing is published.
        await aborted(state, r === "mediaGone");
      }
    };
    const finish = (
      errCode: number,
      errCodeExt: string,
      message: string,
      state: Record<string, unknown>,
      effects?: TaskEffects,
    ) => end("FINISH", { errCode, errCodeExt, message }, state, effects);
    const aborted = async (state: Record<string, unknown>, mediaGone = false) => {
      // The request's own reason (the store keeps it), else why the finish was refused.
      const requested = (await store.getTask(task.appId, task.taskId))?.abortRequest;
      const reason = mediaGone ? TASK_ABORTED.mediaDeleted : TASK_ABORTED.byRequest;
      await end("ABORTED", { ...reason, message: requested ?? reason.message }, state);
    };
    const discard = (state: Record<string, unknown>) =>
      handler
        ?.discard?.(deps, task, state)
        .catch((err) =>
          log.warn({ err, taskId: task.taskId }, "discarding an aborted task's outputs failed"),
        );

    const leftovers = () =>
      handler
        ?.leftovers?.(deps, task)
        .catch((err) => log.warn({ err, taskId: task.taskId }, "removing what earlier runs kept failed"));
    // Its abort was requested while the worker that ran it died.
    if (task.abortRequest !== null) {
      await aborted(task.state);
      return void (await leftovers());
    }
    if (task.attempts > config.maxTaskAttempts) {
      await finish(
        TaskErrCode.internal,
        "InternalError",
        `The task was interrupted ${task.attempts - 1} times and was given up.`,
        task.state,
      );
      return void (await leftovers());
    }
    if (!handler) {
      await finish(
        TaskErrCode.internal,
        "InternalError",
        `No worker handles ${task.taskType} tasks.`,
        task.state,
      );
      return;
    }

    const controller = new AbortController();
    this.controllers.add(controller);
    const timeout = setTimeout(
      () => controller.abort(new TaskTimeout(config.taskTimeoutMs)),
      config.taskTimeoutMs,
    );
    const tmpDir = join(config.dataDir, "tmp", task.taskId);
    await mkdir(tmpDir, { recursive: true });

    const owner = this.owner;
    const pool = this;
    let dirty = false;
    // The claim just renewed the lease: the first save is due one interval from now, not at once.
    let lastSave = Date.now();
    let saving: Promise<void> | undefined;
    const ctx: TaskContext = {
      task,
      deps,
      signal: controller.signal,
      tmpDir,
      state: { ...task.state },
      update(patch) {
        this.state = { ...this.state, ...patch };
        dirty = true;
        if (Date.now() - lastSave >= SAVE_INTERVAL_MS) save();
      },
      async idle(wait) {
        pool.active--;
        pool.waiting++;
        pool.wake();
        try {
          return await wait();
        } finally {
          pool.waiting--;
          pool.active++;
        }
      },
      async saveNow(events) {
        while (saving) await saving;
        lastSave = Date.now();
        dirty = false;
        const lease = await store.heartbeat(
          task.taskId,
          owner,
          deps.now() + config.leaseMs,
          this.state,
          events,
        );
        if (lease !== "lost" && events?.length) deps.events.notify(task.appId, events);
        // Only this answer stops the caller (a timeout lets it record what is left as failed).
        if (lease !== "held") {
          onLease(lease);
          throw controller.signal.reason;
        }
      },
    };
    const onLease = (lease: LeaseState) => {
      if (lease === "lost") controller.abort(new LeaseLost());
      else if (lease === "abort") controller.abort(new TaskAborted());
    };
    const save = () => {
      if (saving) return;
      lastSave = Date.now();
      const state = dirty ? ctx.state : undefined;
      dirty = false;
      saving = store
        .heartbeat(task.taskId, this.owner, deps.now() + config.leaseMs, state)
        .then(onLease)
        .catch((err) => log.warn({ err, taskId: task.taskId }, "lease renewal failed"))
        .finally(() => (saving = undefined));
    };
    const renew = setInterval(save, Math.min(SAVE_INTERVAL_MS * 4, config.leaseMs / 3));

    // Stopped by an orderly shutdown: not the task's fault, so the attempt does not count and
    // the task is runnable again at once (by the next start, or another process).
    const release = () =>
      store
        .releaseTask(task.taskId, this.owner, ctx.state)
        .catch((err) => log.warn({ err, taskId: task.taskId }, "releasing a task failed"));

    try {
      if (this.holds) {
        await this.holds.beforeRun(task, controller.signal);
        if (controller.signal.aborted) throw controller.signal.reason;
      }
      const result = await handler(ctx);
      clearInterval(renew);
      await saving;
      if (controller.signal.aborted && !this.running) return void (await release());
      await finish(TaskErrCode.ok, "", "", ctx.state, result?.effects);
    } catch (err) {
      clearInterval(renew);
      await saving;
      // On shutdown the task stays PROCESSING, released; the next start re-runs it.
      if (!this.running) return void (await release());
      if (controller.signal.reason instanceof TaskAborted) {
        // Whatever the handler made of the abort (a failure, even), the task was aborted.
        await aborted(ctx.state);
      } else if (err instanceof TaskFailure) {
        await finish(err.errCode, err.errCodeExt, err.message, ctx.state);
      } else if (controller.signal.reason instanceof LeaseLost) {
        log.warn({ taskId: task.taskId }, "lost the lease of a task; another worker owns it now");
      } else if (controller.signal.aborted) {
        await finish(
          TaskErrCode.internal,
          "InternalError",
          `The task was stopped: ${controller.signal.reason?.message ?? "aborted"}.`,
          ctx.state,
        );
      } else {
        log.error({ err, taskId: task.taskId }, "task handler failed");
        await finish(
          TaskErrCode.internal,
          "InternalError",
          "An internal error occurred while processing the task.",
          ctx.state,
        );
      }
    } finally {
      clearTimeout(timeout);
      clearInterval(renew);
      this.controllers.delete(controller);
      await rm(tmpDir, { recursive: true, force: true }).catch(() => {});
    }
  }
}
