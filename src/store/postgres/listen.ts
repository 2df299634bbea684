// Wake-ups between processes: NOTIFY openvod_tasks (a task became runnable) and NOTIFY
// openvod_events (payload: the app id) are sent in the transactions that cause them; one
// dedicated connection per store LISTENs for them and reconnects by itself.
import pg from "pg";
import { EVENTS_CHANNEL, TASKS_CHANNEL, types } from "./db.js";

/** The application_name of the LISTEN connection (tests find and cut it by this name). */
export const LISTEN_APPLICATION_NAME = "openvod-listen";

interface Subscriber {
  onTask: () => void;
  onEvents: (appId: number) => void;
}

export class Listener {
  private closed = false;
  private client: pg.Client | undefined;
  private retry: NodeJS.Timeout | undefined;
  private delayMs = 100;
  private readonly subscribers: Subscriber[] = [];

  constructor(
    private readonly url: string,
    private readonly log: { warn(obj: object, msg: string): void } | undefined,
  ) {}

  /**
   * After a reconnection onTask is called once (a wake-up may have been missed; the worker
   * pool's timer and PullEvents' deadline bound the rest).
   */
  async subscribe(onTask: () => void, onEvents: (appId: number) => void): Promise<void> {
    this.subscribers.push({ onTask, onEvents });
    if (!this.client) await this.listen();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => {});
  }

  private async listen(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({
      connectionString: this.url,
      types,
      keepAlive: true,
      application_name: LISTEN_APPLICATION_NAME,
    });
    let failed = false;
    const fail = (err?: Error) => {
      if (failed) return;
      failed = true;
      if (this.client === client) this.client = undefined;
      client.end().catch(() => {});
      if (this.closed) return;
      this.log?.warn({ err }, "the PostgreSQL LISTEN connection was lost; reconnecting");
      this.retry = setTimeout(() => void this.listen(), this.delayMs);
      this.retry.unref();
      this.delayMs = Math.min(this.delayMs * 2, 5_000);
    };
    client.on("error", fail);
    client.on("end", () => fail());
    client.on("notification", (msg) => {
      if (msg.channel === TASKS_CHANNEL) {
        for (const s of this.subscribers) s.onTask();
      } else if (msg.channel === EVENTS_CHANNEL) {
        const appId = Number(msg.payload);
        if (Number.isFinite(appId)) for (const s of this.subscribers) s.onEvents(appId);
      }
    });
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${TASKS_CHANNEL}; LISTEN ${EVENTS_CHANNEL}`);
    } catch (err) {
      fail(err as Error);
      return;
    }
    if (failed || this.closed) return;
    const reconnected = this.delayMs > 100;
    this.delayMs = 100;
    if (reconnected) for (const s of this.subscribers) s.onTask();
  }
}
