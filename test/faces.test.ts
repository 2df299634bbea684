// Face recognition through the official SDK: person samples (create, list, modify, delete, on
// both stores) whose pictures are faces cropped at test time from face-api's own demo photos,
// and a Procedure's AiRecognitionTask FaceConfigure on a clip built from those photos, which
// finds the registered person where it is shown and no one else. The model is an optional
// package (npm run install:ai); without it, what needs it answers an error naming it (tested
// with the other AI items in ai.test.ts).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { aiMissing } from "../src/media/ai/engine.js";
import { locateMediaTools } from "../src/media/tools.js";
import { ffmpegTo } from "./helpers/media.js";
import { createTestDatabase, type TestDatabase } from "./helpers/pg.js";
import { assertShape, responseType } from "./helpers/shape.js";
import {
  codeOf,
  FileServer,
  pullItem,
  startOpenvod,
  tempDir,
  waitForTask,
  type OpenvodProcess,
  type Vod,
} from "./helpers/server.js";

const installed = aiMissing("face").length === 0;

/** face-api's demo photos (group pictures of 3-5 people), in the package. */
function demo(n: number): string {
  const pkg = createRequire(import.meta.url).resolve("@vladmandic/face-api/package.json");
  return join(dirname(pkg), "demo", `sample${n}.jpg`);
}

interface Pictures {
  /** One face of sample1 (the person of the clip's first 2 s). */
  a: string;
  /** One face of sample3 (not in the clip). */
  b: string;
  /** A test pattern: no face. */
  none: string;
  /** sample1 whole: three faces. */
  group: string;
  /** 2 s of sample1, 2 s of sample2 (other people), 2 s of a test pattern, 640x426. */
  clip: string;
}

async function makePictures(dir: string): Promise<Pictures> {
  const tools = await locateMediaTools();
  const p: Pictures = {
    a: join(dir, "a.jpg"),
    b: join(dir, "b.jpg"),
    none: join(dir, "none.png"),
    group: join(dir, "group.jpg"),
    clip: join(dir, "clip.mp4"),
  };
  // Face boxes measured on the 1920-wide photos (x, y of a square around the face).
  await ffmpegTo(tools, p.a, ["-i", demo(1), "-vf", "crop=360:360:321:264", "-frames:v", "1"]);
  await ffmpegTo(tools, p.b, ["-i", demo(3), "-vf", "crop=396:396:486:231", "-frames:v", "1"]);
  await ffmpegTo(tools, p.none, ["-f", "lavfi", "-i", "testsrc=size=320x240", "-frames:v", "1"]);
  await ffmpegTo(tools, p.group, ["-i", demo(1), "-vf", "scale=640:-2", "-frames:v", "1"]);
  await ffmpegTo(tools, p.clip, [
    ...["-loop", "1", "-t", "2", "-framerate", "10", "-i", demo(1)],
    ...["-loop", "1", "-t", "2", "-framerate", "10", "-i", demo(2)],
    ...["-f", "lavfi", "-i", "testsrc=size=640x426:rate=10:duration=2"],
    "-filter_complex",
    "[0]scale=640:426,setsar=1[a];[1]scale=640:426,setsar=1[b];[2]setsar=1[c];[a][b][c]concat=n=3:v=1:a=0,format=yuv420p[v]",
    ...["-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "28"],
  ]);
  return p;
}

const base64 = (file: string) => readFileSync(file).toString("base64");

for (const store of ["sqlite", "postgres"] as const) {
  describe(`person samples (${store})`, { skip: !installed && "the AI packages are not installed" }, () => {
    let server: OpenvodProcess;
    let vod: Vod;
    let db: TestDatabase | undefined;
    let pics: Pictures;

    before(async () => {
      pics = await makePictures(tempDir());
      db = store === "postgres" ? await createTestDatabase("openvod_test_persons") : undefined;
      server = await startOpenvod({ env: db ? { OPENVOD_DATABASE_URL: db.url } : {} });
      vod = server.client();
    });
    after(async () => {
      await server?.stop();
      await db?.drop();
    });

    it("creates a person from its one-face pictures, listing the refused ones, and serves them", async () => {
      const r = await vod.CreatePersonSample({
        Name: "Alice",
        Usages: ["Recognition"],
        Description: "first row",
        Tags: ["cast"],
        FaceContents: [base64(pics.a), base64(pics.none), base64(pics.group), "bm90IGEgcGljdHVyZQ=="],
      });
      assertShape(responseType("CreatePersonSample"), r);
      const p = r.Person!;
      assert.match(p.PersonId!, /^\d+$/);
      assert.equal(p.Name, "Alice");
      assert.deepEqual(p.UsageSet, ["Recognition.Face"]);
      assert.deepEqual(p.TagSet, ["cast"]);
      assert.equal(p.FaceInfoSet!.length, 1);
      assert.deepEqual(
        r.FailFaceInfoSet!.map((f) => [f.Index, f.ErrCode]),
        [
          [1, 18004],
          [2, 18004],
          [3, 18004],
        ],
      );
      assert.match(r.FailFaceInfoSet![0]!.Message!, /no face/);
      assert.match(r.FailFaceInfoSet![1]!.Message!, /3 faces/);
      assert.match(r.FailFaceInfoSet![2]!.Message!, /JPEG or PNG/);
      // The picture is kept as sent.
      const got = Buffer.from(await (await fetch(p.FaceInfoSet![0]!.Url!)).arrayBuffer());
      assert.ok(got.equals(readFileSync(pics.a)));

      const list = await vod.DescribePersonSamples({});
      assertShape(responseType("DescribePersonSamples"), list);
      assert.equal(list.TotalCount, 1);
      assert.deepEqual(list.PersonSet![0], p);
    });

    it("refuses a person whose pictures show no single face, and bad values", async () => {
      const before = (await vod.DescribePersonSamples({})).TotalCount;
      const err: any = await vod
        .CreatePersonSample({ Name: "Nobody", Usages: ["All"], FaceContents: [base64(pics.none)] })
        .catch((e) => e);
      assert.equal(err.code, "InvalidParameterValue.FaceContents");
      assert.match(err.message, /no face/);
      assert.equal((await vod.DescribePersonSamples({})).TotalCount, before);
      assert.equal(
        await codeOf(vod.CreatePersonSample({ Name: "x", Usages: ["Porn"] })),
        "InvalidParameterValue.Usages",
      );
      assert.equal(
        await codeOf(vod.CreatePersonSample({ Name: "a name longer than twenty", Usages: ["All"] })),
        "InvalidParameterValue.Name",
      );
      assert.equal(await codeOf(vod.DescribePersonSamples({ Type: "Default" })), "UnsupportedOperation");
      assert.equal(await codeOf(vod.DeletePersonSample({ PersonId: "404" })), "ResourceNotFound.Person");
      assert.equal(
        await codeOf(vod.ModifyPersonSample({ PersonId: "404", Name: "x" })),
        "ResourceNotFound.Person",
      );
    });

    it("filters, modifies names, tags, usages and faces, and deletes with the pictures", async () => {
      const { Person } = await vod.CreatePersonSample({ Name: "Bob", Usages: ["Review.Face"] });
      const id = Person!.PersonId!;
      assert.deepEqual(Person!.FaceInfoSet, []);
      assert.deepEqual(
        (await vod.DescribePersonSamples({ Names: ["Bob"] })).PersonSet!.map((x) => x.PersonId),
        [id],
      );
      assert.equal((await vod.DescribePersonSamples({ Tags: ["cast"] })).TotalCount, 1);
      assert.equal((await vod.DescribePersonSamples({ PersonIds: [id], Tags: ["cast"] })).TotalCount, 0);
      const paged = await vod.DescribePersonSamples({ Offset: 1, Limit: 1 });
      assert.equal(paged.TotalCount, 2);
      assert.equal(paged.PersonSet!.length, 1);

      let m = await vod.ModifyPersonSample({
        PersonId: id,
        Name: "Robert",
        Usages: ["All"],
        TagOperationInfo: { Type: "add", Tags: ["x", "y"] },
        FaceOperationInfo: { Type: "add", FaceContents: [base64(pics.b), base64(pics.a)] },
      });
      assertShape(responseType("ModifyPersonSample"), m);
      assert.equal(m.Person!.Name, "Robert");
      assert.deepEqual(m.Person!.UsageSet, ["Recognition.Face", "Review.Face"]);
      assert.deepEqual(m.Person!.TagSet, ["x", "y"]);
      assert.equal(m.Person!.FaceInfoSet!.length, 2);
      assert.equal(m.FailFaceInfoSet, null);
      const [first, second] = m.Person!.FaceInfoSet!;

      m = await vod.ModifyPersonSample({
        PersonId: id,
        FaceOperationInfo: { Type: "delete", FaceIds: [first!.FaceId!] },
      });
      assert.deepEqual(m.Person!.FaceInfoSet, [second]);
      assert.equal((await fetch(first!.Url!)).status, 404);
      assert.equal(
        await codeOf(
          vod.ModifyPersonSample({
            PersonId: id,
            FaceOperationInfo: { Type: "delete", FaceIds: [second!.FaceId!] },
          }),
        ),
        "InvalidParameterValue.FaceIds",
      );
      m = await vod.ModifyPersonSample({
        PersonId: id,
        FaceOperationInfo: { Type: "reset", FaceContents: [base64(pics.b), base64(pics.group)] },
      });
      assert.equal(m.Person!.FaceInfoSet!.length, 1);
      assert.notEqual(m.Person!.FaceInfoSet![0]!.FaceId, second!.FaceId);
      assert.deepEqual(
        m.FailFaceInfoSet!.map((f) => f.Index),
        [1],
      );
      assert.equal((await fetch(second!.Url!)).status, 404);
      const [listed] = (await vod.DescribePersonSamples({ PersonIds: [id] })).PersonSet!;
      assert.deepEqual(listed, m.Person);

      const url = m.Person!.FaceInfoSet![0]!.Url!;
      await vod.DeletePersonSample({ PersonId: id });
      assert.equal((await vod.DescribePersonSamples({ PersonIds: [id] })).TotalCount, 0);
      assert.equal((await fetch(url)).status, 404);
    });

    it("keeps applications apart", async () => {
      const { SubAppId } = await vod.CreateSubAppId({ Name: `persons-${store}` });
      assert.equal((await vod.DescribePersonSamples({ SubAppId })).TotalCount, 0);
      await vod.CreatePersonSample({ SubAppId, Name: "Other", Usages: ["All"] });
      assert.equal((await vod.DescribePersonSamples({ SubAppId })).TotalCount, 1);
      assert.equal((await vod.DescribePersonSamples({ Names: ["Other"] })).TotalCount, 0);
    });
  });
}

describe(
  "face recognition (AiRecognitionTask FaceConfigure)",
  { skip: !installed && "the AI packages are not installed" },
  () => {
    let server: OpenvodProcess;
    let vod: Vod;
    let files: FileServer;
    let fileId: string;
    const persons: Record<string, string> = {};

    before(async () => {
      const dir = tempDir();
      const pics = await makePictures(dir);
      files = await new FileServer(dir).start();
      server = await startOpenvod({ env: { OPENVOD_TASK_TIMEOUT_MS: "300000" } });
      vod = server.client();
      fileId = await pullItem(vod, `${files.url}/clip.mp4`);
      for (const [name, pic, tags] of [
        ["Alice", pics.a, ["cast"]],
        ["Carol", pics.b, ["guest"]],
      ] as const) {
        const r = await vod.CreatePersonSample({
          Name: name,
          Usages: ["Recognition"],
          Tags: [...tags],
          FaceContents: [base64(pic)],
        });
        persons[name] = r.Person!.PersonId!;
      }
      // A person for review only: recognition must not look for it.
      await vod.CreatePersonSample({ Name: "Dave", Usages: ["Review"], FaceContents: [base64(pics.a)] });
    });
    after(async () => {
      await server?.stop();
      await files?.stop();
    });

    it("finds the registered person where it is shown, and no one else", async () => {
      const { Definition } = await vod.CreateAIRecognitionTemplate({
        Name: "faces",
        FaceConfigure: { Switch: "ON", FaceLibrary: "UserDefine" },
        ScreenshotInterval: 1,
      });
      const [t] = (await vod.DescribeAIRecognitionTemplates({ Definitions: [Definition!] }))
        .AIRecognitionTemplateSet!;
      assert.deepEqual(t!.FaceConfigure, {
        Switch: "ON",
        Score: 95,
        FaceLibrary: "UserDefine",
        DefaultLibraryLabelSet: [],
        UserDefineLibraryLabelSet: [],
      });
      const { TaskId } = await vod.ProcessMedia({
        FileId: fileId,
        AiRecognitionTask: { Definition: Definition! },
      });
      const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 240_000 });
      const p = detail.ProcedureTask;
      assert.equal(p.Status, "FINISH");
      assert.equal(p.AiRecognitionResultSet.length, 1);
      assert.equal(p.AiRecognitionResultSet[0].Type, "FaceRecognition");
      const task = p.AiRecognitionResultSet[0].FaceTask;
      assert.equal(task.Status, "SUCCESS", task.Message);
      assert.deepEqual(task.Input, { Definition });
      const out = task.Output;
      assert.deepEqual(
        out.ResultSet.map((r: any) => [r.Id, r.Type, r.Name]),
        [[persons.Alice, "UserDefine", "Alice"]],
        JSON.stringify(out.ResultSet),
      );
      const segs = out.ResultSet[0].SegmentSet;
      assert.equal(segs.length, 1, JSON.stringify(segs));
      const [seg] = segs;
      // Frames at 0, 1, ... s: Alice is on the first two (0-2 s), the segment ends one interval after.
      assert.equal(seg.StartTimeOffset, 0);
      assert.equal(seg.EndTimeOffset, 2);
      assert.ok(seg.Confidence >= 95 && seg.Confidence <= 100, String(seg.Confidence));
      // Her face in the 640x426 clip: about (137, 118)-(198, 197).
      const [x1, y1, x2, y2] = seg.AreaCoordSet;
      assert.ok(Math.abs(x1 - 137) < 20 && Math.abs(y1 - 118) < 20, String(seg.AreaCoordSet));
      assert.ok(x2 - x1 > 40 && x2 - x1 < 100 && y2 - y1 > 40 && y2 - y1 < 120, String(seg.AreaCoordSet));
      assert.equal(out.ResultSetFileUrl, "");
    });

    it("filters persons by UserDefineLibraryLabelSet, and refuses what it cannot do", async () => {
      const { Definition } = await vod.CreateAIRecognitionTemplate({
        FaceConfigure: { Switch: "ON", UserDefineLibraryLabelSet: ["guest"] },
      });
      const { TaskId } = await vod.ProcessMedia({
        FileId: fileId,
        AiRecognitionTask: { Definition: Definition! },
      });
      const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 240_000 });
      const task = detail.ProcedureTask.AiRecognitionResultSet[0].FaceTask;
      assert.equal(task.Status, "SUCCESS", task.Message);
      // Carol (guest) is not in the clip; Alice (cast) is not looked for.
      assert.deepEqual(task.Output.ResultSet, []);

      const err: any = await vod
        .CreateAIRecognitionTemplate({ FaceConfigure: { Switch: "ON", FaceLibrary: "Default" } })
        .catch((e) => e);
      assert.equal(err.code, "InvalidParameterValue");
      assert.match(err.message, /FaceLibrary Default/);
      assert.equal(
        (
          await codeOf(vod.CreateAIRecognitionTemplate({ FaceConfigure: { Switch: "ON", Score: 101 } }))
        ).split(".")[0],
        "InvalidParameterValue",
      );
      assert.equal(
        (
          await codeOf(
            vod.CreateAIRecognitionTemplate({
              FaceConfigure: { Switch: "ON", DefaultLibraryLabelSet: ["actor"] },
            }),
          )
        ).split(".")[0],
        "InvalidParameterValue",
      );
    });
  },
);
