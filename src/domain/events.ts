// Event notifications as the cloud delivers them: an EventContent per event, written to the
// store in the same transaction as the change that causes it, then pulled (PullEvents) or
// pushed (src/events/push.ts) according to the application's event configuration.
import { EventEmitter } from "node:events";
import { shapeResponse } from "../schema/index.js";
import type { EventConfig, NewEvent, TaskRow } from "../store/types.js";
import type { Deps, Urls } from "./deps.js";
import { taskKind } from "./tasks.js";

/** Wakes long-polling PullEvents calls and the push dispatcher when events are written. */
export class EventHub {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  notify(appId: number): void {
    this.emitter.emit(`app:${appId}`);
    this.emitter.emit("any");
  }

  /** Resolves when an event for appId is written, or after ms. */
  wait(appId: number, ms: number, signal?: AbortSignal): Promise<void> {
    return this.waitOn(`app:${appId}`, ms, signal);
  }

  waitAny(ms: number): Promise<void> {
    return this.waitOn("any", ms);
  }

  private waitOn(name: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.emitter.off(name, done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.emitter.once(name, done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}

export interface EventSpec {
  type: string;
  /** The EventContent field that carries the payload. */
  field: string;
  payload: Record<string, unknown>;
}

/** The EventContent (without EventHandle) for one event, every payload field of the spec present. */
export function makeEvent(appId: number, config: EventConfig, spec: EventSpec, now: number): NewEvent {
  const content = shapeResponse("EventContent", { EventType: spec.type, [spec.field]: spec.payload });
  delete content.EventHandle;
  return { appId, eventType: spec.type, content, delivery: config.mode, createTime: now };
}

/** The events a task emits when it finishes: its completion event and any the kind adds. */
export async function taskEvents(deps: Deps, finished: TaskRow): Promise<NewEvent[]> {
  const kind = taskKind(finished.taskType);
  const config = await deps.store.getEventConfig(finished.appId);
  const specs = kind.events?.(finished, config, deps.urls) ?? [];
  return specs.map((s) => makeEvent(finished.appId, config, s, deps.now()));
}

/** The completion event of a task type, built from its DescribeTaskDetail payload. */
export function completionEvent(type: string, field: string, task: TaskRow, urls: Urls): EventSpec {
  return { type, field, payload: taskKind(task.taskType).view(task, urls) };
}
