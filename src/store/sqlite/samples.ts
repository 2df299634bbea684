// Word and person samples, embedded store.
import type { Samples } from "../concepts.js";
import type { Raw } from "../sql.js";
import type { PersonSampleRow, WordSampleRow } from "../types.js";
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

export function personSampleFromRow(r: Raw, doc: (v: unknown) => any): PersonSampleRow {
  return {
    appId: r.app_id,
    personId: r.person_id,
    name: r.name,
    description: r.description,
    usages: doc(r.usages),
    tags: doc(r.tags),
    faces: doc(r.faces),
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
    insertPerson: p(`INSERT INTO person_samples (app_id, person_id, name, description, usages, tags, faces,
      create_time, update_time) VALUES (@appId, @personId, @name, @description, @usages, @tags, @faces,
      @createTime, @updateTime) ON CONFLICT DO NOTHING`),
    listPersons: p("SELECT * FROM person_samples WHERE app_id = ? ORDER BY create_time, person_id"),
    getPerson: p("SELECT * FROM person_samples WHERE app_id = ? AND person_id = ?"),
    updatePerson: p(`UPDATE person_samples SET name = @name, description = @description, usages = @usages,
      tags = @tags, faces = @faces, update_time = @updateTime WHERE app_id = @appId AND person_id = @personId`),
    deletePerson: p("DELETE FROM person_samples WHERE app_id = ? AND person_id = ? RETURNING *"),
  };
  const personJson = (r: PersonSampleRow) => ({
    ...r,
    usages: JSON.stringify(r.usages),
    tags: JSON.stringify(r.tags),
    faces: JSON.stringify(r.faces),
  });
  const person = (r: Raw) => personSampleFromRow(r, (v) => JSON.parse(v as string));
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
    async insertPersonSample(row) {
      return s.insertPerson.run(personJson(row)).changes > 0;
    },
    async listPersonSamples(appId) {
      return (s.listPersons.all(appId) as Raw[]).map(person);
    },
    async getPersonSample(appId, personId) {
      const r = s.getPerson.get(appId, personId) as Raw | undefined;
      return r && person(r);
    },
    async updatePersonSample(row) {
      return s.updatePerson.run(personJson(row)).changes > 0;
    },
    async deletePersonSample(appId, personId) {
      const r = s.deletePerson.get(appId, personId) as Raw | undefined;
      return r && person(r);
    },
  };
}
