// Event notification, embedded store: per-application configuration, PULL (handles that hide an
// event until confirmed or expired) and PUSH (callbacks claimed with a lease and retried).
import type { Events } from "../concepts.js";
import { randomBytes } from "node:crypto";
import { eventConfigFromRow, eventFromRow, parseJson } from "../rows.js";
import type { Raw } from "../sql.js";
import { DEFAULT_EVENT_CONFIG } from "../types.js";
import { SQLITE, type SqliteDb } from "./db.js";

const event = (r: Raw) => eventFromRow(r, parseJson);

export function events(d: SqliteDb): Events {
  const p = (sql: string) => d.db.prepare(sql);
  const s = {
    getConfig: p("SELECT * FROM event_configs WHERE app_id = ?"),
    putConfig:
      p(`INSERT OR REPLACE INTO event_configs (app_id, mode, notification_url, sign_key, upload_switch,
      delete_switch, persistence_switch) VALUES (@appId, @mode, @notificationUrl, @signKey, @uploadSwitch,
      @deleteSwitch, @persistenceSwitch)`),
    pullable: p(`SELECT * FROM events WHERE delivery = 'PULL' AND app_id = ? AND available_at <= ?
      ORDER BY seq LIMIT ?`),
    hide: p("UPDATE events SET handle = ?, available_at = ?, attempts = attempts + 1 WHERE seq = ?"),
    confirm: p("DELETE FROM events WHERE app_id = ? AND handle = ? AND available_at > ?"),
    countPullable: p(
      "SELECT COUNT(*) AS n FROM events WHERE delivery = 'PULL' AND app_id = ? AND available_at <= ?",
    ),
    lease: p("UPDATE events SET available_at = ?, attempts = attempts + 1 WHERE seq = ?"),
    delivered: p("DELETE FROM events WHERE seq = ?"),
    retry: p("UPDATE events SET available_at = ?, last_error = ? WHERE seq = ?"),
    nextPushDue: p("SELECT MIN(available_at) AS t FROM events WHERE delivery = 'PUSH'"),
    purge: p("DELETE FROM events WHERE create_time < ?"),
  };
  const self: Events = {
    async getEventConfig(appId) {
      const r = s.getConfig.get(appId) as Raw | undefined;
      return r ? eventConfigFromRow(r) : { ...DEFAULT_EVENT_CONFIG };
    },
    async setEventConfig(appId, patch) {
      const cur = await self.getEventConfig(appId);
      const next = {
        ...cur,
        ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)),
      };
      s.putConfig.run({ appId, ...next });
    },
    async insertEvents(events) {
      d.tx(() => d.writeEvents(events));
    },
    async pullEvents(appId, now, hideMs, limit) {
      return d.tx(() => {
        const rows = (s.pullable.all(appId, now, limit) as Raw[]).map(event);
        for (const e of rows) {
          e.handle = randomBytes(16).toString("hex");
          e.availableAt = now + hideMs;
          e.attempts++;
          s.hide.run(e.handle, e.availableAt, e.seq);
        }
        return rows;
      });
    },
    async confirmEvents(appId, handles, now) {
      return d.tx(() => handles.filter((h) => s.confirm.run(appId, h, now).changes === 0));
    },
    async countPullableEvents(appId, now) {
      return (s.countPullable.get(appId, now) as { n: number }).n;
    },
    async claimPushEvents(now, leaseMs, limit, perApp, busyApps) {
      return d.tx(() => {
        const q = SQLITE.params();
        const due = q.add(now);
        const busy = busyApps.length ? `AND ${SQLITE.inList(q, "app_id", busyApps, "bigint", true)}` : "";
        // At most perApp events of one application per claim, so one busy receiver cannot fill the batch.
        const sql = `SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY app_id ORDER BY available_at, seq) AS rn
          FROM events WHERE delivery = 'PUSH' AND available_at <= ${due} ${busy}) WHERE rn <= ${q.add(perApp)}
          ORDER BY available_at, seq LIMIT ${q.add(limit)}`;
        const claimed = (d.prepareText(sql).all(...q.values) as Raw[]).map(event);
        for (const e of claimed) {
          e.attempts++;
          s.lease.run(now + leaseMs, e.seq);
        }
        return claimed;
      });
    },
    async settlePushEvent(seq, delivered, retryAt, error) {
      if (delivered || retryAt === null) s.delivered.run(seq);
      else s.retry.run(retryAt, error.slice(0, 500), seq);
    },
    async nextPushDue() {
      return (s.nextPushDue.get() as { t: number | null }).t ?? undefined;
    },
    async purgeEvents(createdBefore) {
      return s.purge.run(createdBefore).changes;
    },
  };
  return self;
}
