// Word and person samples, cluster store.
import type { Samples } from "../concepts.js";
import { personSampleFromRow, wordSampleFromRow } from "../sqlite/samples.js";
import type { PersonSampleRow } from "../types.js";
import { doc, text, type PgDb } from "./db.js";

const person = (r: Record<string, any>) => personSampleFromRow(r, (v) => v);

/** $1-$8 of the person statements: keys, fields, update_time. */
const personParams = (r: PersonSampleRow) => [
  r.appId,
  r.personId,
  text(r.name),
  text(r.description),
  doc(r.usages),
  doc(r.tags),
  doc(r.faces),
  r.updateTime,
];

export function samples(d: PgDb): Samples {
  return {
    async insertWordSamples(rows) {
      if (rows.length === 0) return [];
      return d.tx(async (c) => {
        const keys = rows.map((r) => text(r.keyword));
        const found = await c.query(
          "SELECT keyword FROM word_samples WHERE app_id = $1 AND keyword = ANY($2)",
          [rows[0]!.appId, keys],
        );
        if (found.rows.length > 0) return found.rows.map((r) => r.keyword as string);
        for (const r of rows) {
          // ON CONFLICT DO NOTHING: a concurrent insert of the same keyword is not an error here.
          await c.query(
            `INSERT INTO word_samples (app_id, keyword, usages, tags, create_time, update_time)
             VALUES ($1, $2, $3::jsonb, $4::jsonb, $5, $6) ON CONFLICT DO NOTHING`,
            [r.appId, text(r.keyword), doc(r.usages), doc(r.tags), r.createTime, r.updateTime],
          );
        }
        return [];
      });
    },
    async listWordSamples(appId) {
      const rows = await d.all("SELECT * FROM word_samples WHERE app_id = $1 ORDER BY create_time, keyword", [
        appId,
      ]);
      return rows.map((r) => wordSampleFromRow(r, (v) => v));
    },
    async updateWordSample(row) {
      const n = await d.changes(
        `UPDATE word_samples SET usages = $3::jsonb, tags = $4::jsonb, update_time = $5
         WHERE app_id = $1 AND keyword = $2`,
        [row.appId, text(row.keyword), doc(row.usages), doc(row.tags), row.updateTime],
      );
      return n > 0;
    },
    async deleteWordSamples(appId, keywords) {
      return d.changes("DELETE FROM word_samples WHERE app_id = $1 AND keyword = ANY($2)", [
        appId,
        keywords.map(text),
      ]);
    },
    async insertPersonSample(r) {
      const n = await d.changes(
        `INSERT INTO person_samples (app_id, person_id, name, description, usages, tags, faces,
           create_time, update_time)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb, $9, $8) ON CONFLICT DO NOTHING`,
        [...personParams(r), r.createTime],
      );
      return n > 0;
    },
    async listPersonSamples(appId) {
      const rows = await d.all(
        "SELECT * FROM person_samples WHERE app_id = $1 ORDER BY create_time, person_id",
        [appId],
      );
      return rows.map(person);
    },
    async getPersonSample(appId, personId) {
      const r = await d.one("SELECT * FROM person_samples WHERE app_id = $1 AND person_id = $2", [
        appId,
        personId,
      ]);
      return r && person(r);
    },
    async updatePersonSample(r) {
      const n = await d.changes(
        `UPDATE person_samples SET name = $3, description = $4, usages = $5::jsonb, tags = $6::jsonb,
           faces = $7::jsonb, update_time = $8
         WHERE app_id = $1 AND person_id = $2`,
        personParams(r),
      );
      return n > 0;
    },
    async deletePersonSample(appId, personId) {
      const r = await d.one("DELETE FROM person_samples WHERE app_id = $1 AND person_id = $2 RETURNING *", [
        appId,
        personId,
      ]);
      return r && person(r);
    },
  };
}
