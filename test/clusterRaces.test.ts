// Check-then-insert races between API processes (cluster mode, PostgreSQL): the same SessionId,
// or the same procedure template Name, sent to two API processes at the same moment must give
// one task (one template) and the cloud's error for every other request. Each round fires
// several identical requests at both processes at once, so that both run their checks before
// either inserts; the database holds the answer.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createTestDatabase, sql, type TestDatabase } from "./helpers/pg.js";
import { startOpenvod, tempDir, type OpenvodProcess } from "./helpers/server.js";

const ROUNDS = 12;
/** Identical requests per API process per round. */
const PER_API = 3;

describe("cluster races: 2 API processes on PostgreSQL", () => {
  let db: TestDatabase;
  let dataDir: string;
  const apis: OpenvodProcess[] = [];

  before(async () => {
    db = await createTestDatabase("openvod_test_races");
    dataDir = tempDir("openvod-races-data-");
    // API processes only: submitted tasks stay WAITING, which is all these checks need.
    const env = { OPENVOD_DATABASE_URL: db.url, OPENVOD_ROLE: "api", OPENVOD_RATE_LIMIT: "0" };
    apis.push(await startOpenvod({ dataDir, env }));
    apis.push(await startOpenvod({ dataDir, env: { ...env, OPENVOD_PUBLIC_URL: apis[0]!.url } }));
  });

  after(async () => {
    await Promise.all(apis.map((p) => p.stop()));
    await db?.drop();
    const { rmSync } = await import("node:fs");
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** Sends `call` PER_API times to each API process at once; TaskIds / error codes, in order. */
  const race = (call: (vod: ReturnType<OpenvodProcess["client"]>) => Promise<string>) => {
    const vods = apis.map((a) => a.client());
    return Promise.all(
      vods.flatMap((vod) =>
        Array.from({ length: PER_API }, () => call(vod).catch((e: any) => `error ${String(e.code)}`)),
      ),
    );
  };

  it("one SessionId sent to both API processes at once makes one task", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const SessionId = `race-${round}`;
      const results = await race(async (vod) => {
        const r = await vod.PullUpload({ MediaUrl: "http://127.0.0.1:9/never.mp4", SessionId });
        return r.TaskId!;
      });
      const created = results.filter((r) => !r.startsWith("error "));
      assert.equal(created.length, 1, `round ${round}: ${results.join(", ")}`);
      for (const r of results.filter((x) => x.startsWith("error ")))
        assert.equal(r, "error InvalidParameterValue.SessionId", `round ${round}`);
      const rows = await sql<{ task_id: string }>(db.url, "SELECT task_id FROM tasks WHERE session_id = $1", [
        SessionId,
      ]);
      assert.deepEqual(
        rows.map((r) => r.task_id),
        created,
      );
    }
    // A SessionId that no request races for still works the ordinary way.
    const vod = apis[1]!.client();
    await vod.PullUpload({ MediaUrl: "http://127.0.0.1:9/never.mp4", SessionId: "alone" });
    await assert.rejects(
      vod.PullUpload({ MediaUrl: "http://127.0.0.1:9/never.mp4", SessionId: "alone" }),
      (e: any) => e.code === "InvalidParameterValue.SessionId",
    );
  });

  it("one procedure template Name created at both API processes at once makes one template", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const Name = `race-${round}`;
      let n = 0;
      const results = await race(async (vod) => {
        // Each request a different Comment: the stored template shows whose request won.
        const Comment = `request ${n++}`;
        await vod.CreateProcedureTemplate({
          Name,
          Comment,
          MediaProcessTask: { TranscodeTaskSet: [{ Definition: 100010 }] },
        });
        return Comment;
      });
      const created = results.filter((r) => !r.startsWith("error "));
      assert.equal(created.length, 1, `round ${round}: ${results.join(", ")}`);
      for (const r of results.filter((x) => x.startsWith("error ")))
        assert.equal(r, "error InvalidParameter.ExistedProcedureName", `round ${round}`);
      const described: any = await apis[round % 2]!.client().DescribeProcedureTemplates({ Names: [Name] });
      assert.equal(described.ProcedureTemplateSet.length, 1);
      assert.equal(described.ProcedureTemplateSet[0].Comment, created[0]);
    }
  });
});
