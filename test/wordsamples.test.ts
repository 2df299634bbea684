// Word samples through the official SDK, on both stores: create, filter, modify tags and usages,
// delete; per application; bad input answers the cloud's errors.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createTestDatabase, type TestDatabase } from "./helpers/pg.js";
import { codeOf, startOpenvod, type OpenvodProcess, type Vod } from "./helpers/server.js";

for (const store of ["sqlite", "postgres"] as const) {
  describe(`word samples (${store})`, () => {
    let server: OpenvodProcess;
    let vod: Vod;
    let db: TestDatabase | undefined;

    before(async () => {
      db = store === "postgres" ? await createTestDatabase("openvod_test_words") : undefined;
      server = await startOpenvod({ env: db ? { OPENVOD_DATABASE_URL: db.url } : {} });
      vod = server.client();
    });
    after(async () => {
      await server?.stop();
      await db?.drop();
    });

    it("creates, lists with filters, modifies and deletes keywords", async () => {
      await vod.CreateWordSamples({
        Usages: ["Review"],
        Words: [{ Keyword: "gambling", Tags: ["ad"] }, { Keyword: "赌博" }],
      });
      await vod.CreateWordSamples({
        Usages: ["Recognition.Ocr"],
        Words: [{ Keyword: "openvod", Tags: ["brand"] }],
      });
      const all = await vod.DescribeWordSamples({});
      assert.equal(all.TotalCount, 3);
      const g = all.WordSet!.find((w) => w.Keyword === "gambling")!;
      assert.deepEqual(g.UsageSet, ["Review.Ocr", "Review.Asr"]);
      assert.deepEqual(g.TagSet, ["ad"]);
      assert.match(g.CreateTime!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

      const review = await vod.DescribeWordSamples({ Usages: ["Review.Ocr"] });
      assert.deepEqual(review.WordSet!.map((w) => w.Keyword).sort(), ["gambling", "赌博"]);
      const tagged = await vod.DescribeWordSamples({ Tags: ["brand"] });
      assert.deepEqual(
        tagged.WordSet!.map((w) => w.Keyword),
        ["openvod"],
      );
      const paged = await vod.DescribeWordSamples({ Offset: 1, Limit: 1 });
      assert.equal(paged.TotalCount, 3);
      assert.equal(paged.WordSet!.length, 1);

      await vod.ModifyWordSample({
        Keyword: "赌博",
        Usages: ["Review.Ocr"],
        TagOperationInfo: { Type: "add", Tags: ["x", "y"] },
      });
      await vod.ModifyWordSample({ Keyword: "赌博", TagOperationInfo: { Type: "delete", Tags: ["x"] } });
      const [m] = (await vod.DescribeWordSamples({ Keywords: ["赌博"] })).WordSet!;
      assert.deepEqual(m!.UsageSet, ["Review.Ocr"]);
      assert.deepEqual(m!.TagSet, ["y"]);

      await vod.DeleteWordSamples({ Keywords: ["gambling", "never-there"] });
      assert.deepEqual((await vod.DescribeWordSamples({})).WordSet!.map((w) => w.Keyword).sort(), [
        "openvod",
        "赌博",
      ]);
    });

    it("refuses duplicates, unknown usages and keywords, and keeps applications apart", async () => {
      assert.equal(
        await codeOf(
          vod.CreateWordSamples({ Usages: ["All"], Words: [{ Keyword: "dup" }, { Keyword: "openvod" }] }),
        ),
        "InvalidParameterValue.Keyword",
      );
      // Nothing of a refused call was written.
      assert.equal((await vod.DescribeWordSamples({ Keywords: ["dup"] })).TotalCount, 0);
      assert.equal(
        await codeOf(vod.CreateWordSamples({ Usages: ["Porn"], Words: [{ Keyword: "a" }] })),
        "InvalidParameterValue.Usages",
      );
      assert.equal(
        await codeOf(vod.CreateWordSamples({ Usages: ["All"], Words: [{ Keyword: "x".repeat(21) }] })),
        "InvalidParameterValue.Keyword",
      );
      assert.equal(
        await codeOf(vod.ModifyWordSample({ Keyword: "nope", Usages: ["All"] })),
        "ResourceNotFound.Keyword",
      );
      const { SubAppId } = await vod.CreateSubAppId({ Name: "other" });
      assert.equal((await vod.DescribeWordSamples({ SubAppId })).TotalCount, 0);
      await vod.CreateWordSamples({ SubAppId, Usages: ["All"], Words: [{ Keyword: "openvod" }] });
      assert.equal((await vod.DescribeWordSamples({ SubAppId })).TotalCount, 1);
    });

    it("keeps the keywords across kill -9", async () => {
      await server.kill9();
      await server.start();
      vod = server.client();
      assert.equal((await vod.DescribeWordSamples({})).TotalCount, 2);
    });
  });
}
