// Event notification, cluster store: per-application configuration, PULL (handles that hide an
// event until confirmed or expired) and PUSH (callbacks claimed with a lease and retried). Pulls
// and claims of several processes at once hand out disjoint events.
import type { Events } from "../concepts.js";
import { eventConfigFromRow, eventFromRow, parsed } from "../rows.js";
import type { Raw } from "../sql.js";
import { DEFAULT_EVENT_CONFIG } from "../types.js";
import { text, writeEvents, type PgDb } from "./db.js";

const event = (r: Raw) => eventFromRow(r, parsed);

export function events(d: PgDb): Events {
  return {
    async getEventConfig(appId) {
      const r = await d.one("SELECT * FROM event_configs WHERE app_id = $1", [appId], "getEventConfig");
      return r ? eventConfigFromRow(r) : { ...DEFAULT_EVENT_CONFIG };
    },
    async setEventConfig(appId, patch) {
      // Read and write under the row's lock, so two processes' patches of different fields both stick.
      await d.tx(async (c) => {
        const def = DEFAULT_EVENT_CONFIG;
        await c.query(
          "INSERT INTO event_configs VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
          [
            appId,
            def.mode,
            def.notificationUrl,
            def.signKey,
            def.uploadSwitch,
            def.deleteSwitch,
            def.persistenceSwitch,
          ],
        );
        const cols: [string, string | undefined][] = [
          ["mode", patch.mode],
          ["notification_url", patch.notificationUrl],
          ["sign_key", patch.signKey],
          ["upload_switch", patch.uploadSwitch],
          ["delete_switch", patch.deleteSwitch],
          ["persistence_switch", patch.persistenceSwitch],
        ];
        const sets = cols.filter(([, v]) => v !== undefined);
        if (sets.length === 0) return;
        const sql = `UPDATE event_configs SET ${sets.map(([k], i) => `${k} = $${i + 1}`).join(", ")}
          WHERE app_id = $${sets.length + 1}`;
        await c.query(sql, [...sets.map(([, v]) => text(v!)), appId]);
      });
    },
    async insertEvents(events) {
      await writeEvents(d.pool, events);
    },
    async pullEvents(appId, now, hideMs, limit) {
      // SKIP LOCKED: two API processes pulling at once hand out disjoint events.
      const { rows } = await d.pool.query({
        name: "pullEvents",
        text: `UPDATE events SET handle = replace(gen_random_uuid()::text, '-', ''), available_at = $3,
            attempts = attempts + 1
          WHERE seq IN (SELECT seq FROM events WHERE delivery = 'PULL' AND app_id = $1 AND available_at <= $2
            ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED)
          RETURNING *`,
        values: [appId, now, now + hideMs, limit],
      });
      return rows.map(event).sort((a, b) => a.seq - b.seq);
    },
    async confirmEvents(appId, handles, now) {
      if (handles.length === 0) return [];
      const rows = await d.all(
        "DELETE FROM events WHERE app_id = $1 AND handle = ANY($2::text[]) AND available_at > $3 RETURNING handle",
        [appId, handles.map(text), now],
      );
      // As one at a time would: each deleted handle counts once, a repeat of it is stale.
      const deleted = new Set(rows.map((r) => r.handle as string));
      return handles.filter((h) => !deleted.delete(text(h)));
    },
    async countPullableEvents(appId, now) {
      const r = await d.one(
        "SELECT COUNT(*) AS n FROM events WHERE delivery = 'PULL' AND app_id = $1 AND available_at <= $2",
        [appId, now],
        "countPullable",
      );
      return r!.n as number;
    },
    async claimPushEvents(now, leaseMs, limit, perApp, busyApps) {
      // At most perApp events of one application per claim, so one busy receiver cannot fill the
      // batch. Window functions cannot lock rows, so the UPDATE re-checks availability instead:
      // of two dispatchers that picked the same event, the second finds it leased and skips it.
      const rows = await d.all(
        `WITH c AS (
           SELECT seq, available_at FROM (
             SELECT seq, available_at,
               ROW_NUMBER() OVER (PARTITION BY app_id ORDER BY available_at, seq) AS rn
             FROM events WHERE delivery = 'PUSH' AND available_at <= $1 AND NOT (app_id = ANY($3::bigint[]))) w
           WHERE rn <= $4 ORDER BY available_at, seq LIMIT $5)
         UPDATE events e SET available_at = $2, attempts = e.attempts + 1
         FROM c WHERE e.seq = c.seq AND e.available_at <= $1
         RETURNING e.*, c.available_at AS claimed_at`,
        [now, now + leaseMs, busyApps, perApp, limit],
      );
      return rows
        .map((r) => ({ ...event(r), availableAt: r.claimed_at as number }))
        .sort((a, b) => a.availableAt - b.availableAt || a.seq - b.seq);
    },
    async settlePushEvent(seq, delivered, retryAt, error) {
      if (delivered || retryAt === null) await d.pool.query("DELETE FROM events WHERE seq = $1", [seq]);
      else
        await d.pool.query("UPDATE events SET available_at = $1, last_error = $2 WHERE seq = $3", [
          retryAt,
          text(error.slice(0, 500)),
          seq,
        ]);
    },
    async nextPushDue() {
      const r = await d.one("SELECT MIN(available_at) AS t FROM events WHERE delivery = 'PUSH'", []);
      return (r!.t as number | null) ?? undefined;
    },
    async purgeEvents(createdBefore) {
      return d.changes("DELETE FROM events WHERE create_time < $1", [createdBefore]);
    },
  };
}
