// Word samples, embedded store.
import type { Samples } from "../concepts.js";
import type { Raw } from "../sql.js";
import type { WordSampleRow } from "../types.js";
import type { SqliteDb } from "./db.js";

export function wordSampleFromRow(r: Raw, doc: (v: unknown) => any): WordSampleRow {
  return {
    appId: r.app_id,
    keyword: r.keyword,
    usages: doc(r.usages),
    tags: doc(r.tags),
    createTime: r.create_time,
    updateTime: r.update_time,
  };
}

export function samples(d: SqliteDb): Samples {
  const p = (sql: string) => d.db.prepare(sql);
  const s = {
    exists: p("SELECT 1 FROM word_samples WHERE app_id = ? AND keyword = ?"),
    insert: p(`INSERT INTO word_samples (app_id, keyword, usages, tags, create_time, update_time)
      VALUES (@appId, @keyword, @usages, @tags, @createTime, @updateTime)`),
    list: p("SELECT * FROM word_samples WHERE app_id = ? ORDER BY create_time, keyword"),
    update: p(`UPDATE word_samples SET usages = @usages, tags = @tags, update_time = @updateTime
      WHERE app_id = @appId AND keyword = @keyword`),
    delete: p("DELETE FROM word_samples WHERE app_id = ? AND keyword = ?"),
  };
  const json = (r: WordSampleRow) => ({
    ...r,
    usages: JSON.stringify(r.usages),
    tags: JSON.stringify(r.tags),
  });
  return {
    async insertWordSamples(rows) {
      return d.tx(() => {
        const existing = rows.filter((r) => s.exists.get(r.appId, r.keyword)).map((r) => r.keyword);
        if (existing.length === 0) for (const r of rows) s.insert.run(json(r));
        return existing;
      });
    },
    async listWordSamples(appId) {
      return (s.list.all(appId) as Raw[]).map((r) => wordSampleFromRow(r, (v) => JSON.parse(v as string)));
    },
    async updateWordSample(row) {
      return s.update.run(json(row)).changes > 0;
    },
    async deleteWordSamples(appId, keywords) {
      return d.tx(() => keywords.reduce((n, k) => n + s.delete.run(appId, k).changes, 0));
    },
  };
}
