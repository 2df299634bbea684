// The embedded store: one SQLite file in the data directory, one process. Each concept's
// statements live in src/store/sqlite/<concept>.ts; what both dialects share (row mappers,
// filters, the finish-task effects) is written once in src/store.
import { apps } from "./sqlite/apps.js";
import { SqliteDb } from "./sqlite/db.js";
import { events } from "./sqlite/events.js";
import { media } from "./sqlite/media.js";
import { segments } from "./sqlite/segments.js";
import { samples } from "./sqlite/samples.js";
import { tasks } from "./sqlite/tasks.js";
import { templates } from "./sqlite/templates.js";
import { signatures } from "./sqlite/signatures.js";
import { uploads } from "./sqlite/uploads.js";
import { assemble } from "./concepts.js";
import type { Store } from "./types.js";

// The methods are the concept modules' (assigned in the constructor): the interface says so.
export interface SqliteStore extends Store {}

export class SqliteStore {
  constructor(file: string) {
    const d = new SqliteDb(file);
    const own = {
      async close() {
        d.close();
      },
    };
    Object.assign(this, assemble(d, { apps, tasks, segments, media, events, templates, uploads, signatures, samples }, own));
  }
}
