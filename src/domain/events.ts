// Event notifications as the cloud delivers them: an EventContent per event, written to the
// store in the same transaction as the change that causes it, then pulled (PullEvents) or
// pushed (src/events/push.ts) according to the application's event configuration.
import { EventEmitter } from "node:events";
import { shapeResponse } from "../schema/index.js";
import type { EventConfig, NewEvent } from "../store/types.js";

/** Wakes long-polling PullEvents calls and the push dispatcher when events are written. */
export class EventHub {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  /**
   * Events of appId were written. Given the events, the push dispatcher is woken only for a
   * callback to make: otherwise every finished task of a PULL application (the default) would
   * cost it a claim transaction that finds nothing.
   */
  notify(appId: number, written?: readonly Pick<NewEvent, "delivery">[]): void {
    this.emitter.emit(`app:${appId}`);
    if (!written || written.some((e) => e.delivery === "PUSH")) this.emitter.emit("any");
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
