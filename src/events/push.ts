// PUSH-mode delivery: POST each event's EventContent to the application's NotificationUrl,
// at least once. Due events are claimed from the store with a lease (so a restart or a second
// process resumes them), retried with exponential backoff on non-2xx, timeouts and connection
// errors, and given up after a bounded time. Each application has its own small share of
// in-flight deliveries, so one slow or dead receiver never delays another application.
// Callbacks go through the one outbound client (../net/http.ts), private-address guard included:
// a NotificationUrl whose host resolves to a private address is never connected to, and the
// refusal is recorded as the delivery's error, retried and given up like any other failure.
import { createHash } from "node:crypto";
import type { Deps } from "../domain/deps.js";
import { request } from "../net/http.js";
import type { EventRow } from "../store/types.js";

const MAX_IN_FLIGHT = 64;
const PER_APP = 4;
const REQUEST_TIMEOUT_MS = 10_000;
/** How long a claimed event is held before another dispatcher may take it. */
const LEASE_MS = REQUEST_TIMEOUT_MS * 3;
/** The callback's `T`: an expiry time this far after sending, as the cloud sets it. */
const SIGN_VALID_SEC = 600;

/** The callback body: EventContent without EventHandle and without null payloads, plus Sign/T. */
export function pushBody(event: EventRow, signKey: string, nowMs: number): string {
  const body: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(event.content)) if (v !== null) body[k] = v;
  if (signKey) {
    const t = Math.floor(nowMs / 1000) + SIGN_VALID_SEC;
    body.T = t;
    body.Sign = createHash("md5")
      .update(signKey + t)
      .digest("hex");
  }
  return JSON.stringify(body);
}

export class PushDispatcher {
  private running = false;
  private loopDone: Promise<void> | undefined;
  private readonly inFlight = new Map<number, number>();
  private total = 0;
  /** Deliveries under way, awaited by stop() (each is bounded by REQUEST_TIMEOUT_MS). */
  private readonly delivering = new Set<Promise<void>>();

  constructor(private readonly deps: Deps) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.deps.events.notify(-1);
    await this.loopDone;
    await Promise.allSettled([...this.delivering]);
  }

  private async loop(): Promise<void> {
    const { store, log } = this.deps;
    while (this.running) {
      let claimed: EventRow[] = [];
      try {
        const busy = [...this.inFlight].filter(([, n]) => n >= PER_APP).map(([app]) => app);
        const room = MAX_IN_FLIGHT - this.total;
        if (room > 0) claimed = await store.claimPushEvents(this.deps.now(), LEASE_MS, room, PER_APP, busy);
      } catch (err) {
        log.error({ err }, "claiming events to push failed");
      }
      for (const e of claimed) {
        const p = this.deliver(e).finally(() => this.delivering.delete(p));
        this.delivering.add(p);
      }
      if (claimed.length === 0) {
        const due = await store.nextPushDue().catch(() => undefined);
        const wait = due === undefined ? 5_000 : Math.max(10, Math.min(5_000, due - this.deps.now()));
        await this.deps.events.waitAny(wait);
      }
    }
  }

  private async deliver(e: EventRow): Promise<void> {
    const { store, log, config } = this.deps;
    this.total++;
    this.inFlight.set(e.appId, (this.inFlight.get(e.appId) ?? 0) + 1);
    let delivered = false;
    let error = "";
    try {
      const cfg = await store.getEventConfig(e.appId);
      if (!cfg.notificationUrl) {
        error = "no NotificationUrl configured";
      } else {
        const res = await request(cfg.notificationUrl, {
          method: "POST",
          headers: { "content-type": "application/json", "user-agent": "openvod-callback/1" },
          body: pushBody(e, cfg.signKey, this.deps.now()),
          allowPrivate: config.allowPrivateUrls,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          connectTimeoutMs: REQUEST_TIMEOUT_MS,
          headersTimeoutMs: REQUEST_TIMEOUT_MS,
          bodyIdleTimeoutMs: REQUEST_TIMEOUT_MS,
        });
        await res.drain();
        delivered = res.status >= 200 && res.status < 300;
        if (!delivered) error = `HTTP ${res.status}`;
      }
    } catch (err) {
      error = (err as Error).message;
    }
    try {
      let retryAt: number | null = null;
      if (!delivered) {
        const age = this.deps.now() - e.createTime;
        const backoff = Math.min(
          config.eventRetryBaseMs * 2 ** Math.min(e.attempts - 1, 20),
          config.eventRetryMaxMs,
        );
        retryAt = age + backoff > config.eventPushMaxAgeMs ? null : this.deps.now() + backoff;
        if (retryAt !== null)
          log.debug(
            { appId: e.appId, eventType: e.eventType, attempt: e.attempts, error },
            "event delivery failed",
          );
        else log.warn({ appId: e.appId, eventType: e.eventType, error }, "gave up delivering an event");
      }
      await store.settlePushEvent(e.seq, delivered, retryAt, error);
    } catch (err) {
      log.error({ err }, "recording an event delivery failed");
    } finally {
      this.total--;
      const n = (this.inFlight.get(e.appId) ?? 1) - 1;
      if (n > 0) this.inFlight.set(e.appId, n);
      else this.inFlight.delete(e.appId);
      this.deps.events.notify(-1);
    }
  }
}
