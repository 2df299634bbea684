// Applications (SubAppIds) against a real openvod: creation, listing, renaming, switching off
// and on, and the isolation of tasks and media between applications.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { video, withOpenvod } from "./helpers/openvod.js";
import { APP_ID, codeOf, waitForTask } from "./helpers/server.js";

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const FIRST_SUB_APP_ID = 1500000000;

describe("applications", () => {
  const { server, files, vod } = withOpenvod({
    media: { "clip.mp4": video({ width: 160, height: 120, seconds: 1, audio: false }) },
  });
  let appA: number;
  let appB: number;

  it("CreateSubAppId numbers applications from 1500000000", async () => {
    const a = await vod.CreateSubAppId({ Name: "alpha", Description: "first app" });
    const b = await vod.CreateSubAppId({ Name: "beta" });
    assert.equal(a.SubAppId, FIRST_SUB_APP_ID);
    assert.equal(b.SubAppId, FIRST_SUB_APP_ID + 1);
    appA = a.SubAppId!;
    appB = b.SubAppId!;
    for (const Name of ["", "n".repeat(41)]) {
      assert.equal(await codeOf(vod.CreateSubAppId({ Name })), "InvalidParameterValue.Name", `Name ${Name}`);
    }
    assert.equal(
      await codeOf(vod.CreateSubAppId({ Name: "x", Description: "d".repeat(301) })),
      "InvalidParameterValue.Description",
    );
    assert.equal(await codeOf(vod.CreateSubAppId({} as any)), "MissingParameter");
  });

  it("DescribeSubAppIds lists the default application and the new ones", async () => {
    const r: any = await vod.DescribeSubAppIds({});
    assert.equal(r.TotalCount, 3);
    assert.deepEqual(
      r.SubAppIdInfoSet.map((a: any) => [a.SubAppId, a.Name, a.Status]),
      [
        [APP_ID, "default", "On"],
        [appA, "alpha", "On"],
        [appB, "beta", "On"],
      ],
    );
    const a = r.SubAppIdInfoSet[1];
    assert.equal(a.SubAppIdName, "alpha");
    assert.equal(a.Description, "first app");
    assert.match(a.CreateTime, ISO);
    assert.ok(Math.abs(Date.parse(a.CreateTime) - Date.now()) < 5 * 60_000);

    const named: any = await vod.DescribeSubAppIds({ Name: "beta" });
    assert.equal(named.TotalCount, 1);
    assert.deepEqual(
      named.SubAppIdInfoSet.map((x: any) => x.SubAppId),
      [appB],
    );
    const none: any = await vod.DescribeSubAppIds({ Name: "gamma" });
    assert.equal(none.TotalCount, 0);
    assert.deepEqual(none.SubAppIdInfoSet, []);

    // Applications keep no tags: a tag filter is refused rather than ignored.
    assert.equal(
      await codeOf(vod.DescribeSubAppIds({ Tags: [{ TagKey: "team", TagValue: "video" }] })),
      "UnsupportedOperation",
    );
    assert.equal(await codeOf(vod.DescribeSubAppIds({ Limit: 201 })), "InvalidParameterValue.Limit");

    const page: any = await vod.DescribeSubAppIds({ Offset: 1, Limit: 1 });
    assert.equal(page.TotalCount, 3);
    assert.deepEqual(
      page.SubAppIdInfoSet.map((x: any) => x.SubAppId),
      [appA],
    );
  });

  it("ModifySubAppIdInfo renames and re-describes", async () => {
    await vod.ModifySubAppIdInfo({ SubAppId: appA, Name: "alpha-2", Description: "renamed" });
    const r: any = await vod.DescribeSubAppIds({ Name: "alpha-2" });
    assert.deepEqual(
      r.SubAppIdInfoSet.map((x: any) => [x.SubAppId, x.Name, x.SubAppIdName, x.Description]),
      [[appA, "alpha-2", "alpha-2", "renamed"]],
    );
    assert.equal((await vod.DescribeSubAppIds({ Name: "alpha" } as any)).TotalCount, 0);
    // Description alone leaves the name as it is.
    await vod.ModifySubAppIdInfo({ SubAppId: appA, Description: "again" });
    const again: any = await vod.DescribeSubAppIds({ Name: "alpha-2" });
    assert.equal(again.SubAppIdInfoSet[0].Description, "again");
    assert.equal(
      await codeOf(vod.ModifySubAppIdInfo({ SubAppId: appA, Name: "n".repeat(41) })),
      "InvalidParameterValue.Name",
    );
  });

  it("an unknown SubAppId → InvalidParameterValue.SubAppId", async () => {
    const unknown = FIRST_SUB_APP_ID + 999;
    // Every call's rejection is handled at once (they run together).
    for (const code of await Promise.all(
      [
        vod.DescribeTasks({ SubAppId: unknown }),
        vod.DescribeTaskDetail({ TaskId: "x", SubAppId: unknown }),
        vod.PullUpload({ MediaUrl: `${files.url}/clip.mp4`, SubAppId: unknown }),
        vod.ModifySubAppIdInfo({ SubAppId: unknown, Name: "x" }),
        vod.ModifySubAppIdStatus({ SubAppId: unknown, Status: "On" }),
      ].map(codeOf),
    )) {
      assert.equal(code, "InvalidParameterValue.SubAppId");
    }
  });

  it("ModifySubAppIdStatus Off shuts an application out; On lets it back in", async () => {
    await vod.ModifySubAppIdStatus({ SubAppId: appB, Status: "Off" });
    const listed: any = await vod.DescribeSubAppIds({ Name: "beta" });
    assert.equal(listed.SubAppIdInfoSet[0].Status, "Off");
    // Every call's rejection is handled at once (they run together).
    for (const code of await Promise.all(
      [
        vod.DescribeTasks({ SubAppId: appB }),
        vod.DescribeTaskDetail({ TaskId: "x", SubAppId: appB }),
        vod.PullUpload({ MediaUrl: `${files.url}/clip.mp4`, SubAppId: appB }),
        vod.DescribeMediaInfos({ FileIds: ["1234567890123456789"], SubAppId: appB }),
        vod.ManageTask({ TaskId: "x", OperationType: "Abort", SubAppId: appB }),
      ].map(codeOf),
    )) {
      assert.equal(code, "InvalidParameterValue.SubAppId");
    }
    // Other applications are unaffected.
    assert.deepEqual((await vod.DescribeTasks({ SubAppId: appA })).TaskSet, []);

    await vod.ModifySubAppIdStatus({ SubAppId: appB, Status: "On" });
    assert.deepEqual((await vod.DescribeTasks({ SubAppId: appB })).TaskSet, []);
    assert.equal((await vod.DescribeSubAppIds({ Name: "beta" })).SubAppIdInfoSet![0]!.Status, "On");

    assert.equal(
      await codeOf(vod.ModifySubAppIdStatus({ SubAppId: appB, Status: "Paused" })),
      "InvalidParameterValue.Status",
    );
    assert.equal(
      await codeOf(vod.ModifySubAppIdStatus({ SubAppId: APP_ID, Status: "Off" })),
      "InvalidParameterValue.SubAppId",
    );
    // The default application still works after the refused switch-off.
    assert.equal(await codeOf(vod.DescribeTasks({})), "ok");
  });

  it("tasks and media of one application are invisible from the others", async () => {
    const pull = async (SubAppId?: number) => {
      const { TaskId } = await vod.PullUpload({
        MediaUrl: `${files.url}/clip.mp4`,
        SessionId: "same-session-everywhere",
        ...(SubAppId ? { SubAppId } : {}),
      });
      const { detail } = await waitForTask(vod, TaskId!, { subAppId: SubAppId });
      assert.equal(detail.PullUploadTask.ErrCode, 0, detail.PullUploadTask.Message);
      return { taskId: TaskId!, fileId: detail.PullUploadTask.FileId as string };
    };
    const inA = await pull(appA);
    const inDefault = await pull();
    assert.match(inA.taskId, new RegExp(`^${appA}-pull-`));
    assert.match(inDefault.taskId, new RegExp(`^${APP_ID}-pull-`));

    const scopes: { name: string; sub: { SubAppId?: number } }[] = [
      { name: "A", sub: { SubAppId: appA } },
      { name: "B", sub: { SubAppId: appB } },
      { name: "default", sub: {} },
      { name: "default by id", sub: { SubAppId: APP_ID } },
    ];
    const owner = (item: typeof inA) => (item === inA ? ["A"] : ["default", "default by id"]);
    for (const item of [inA, inDefault]) {
      for (const { name, sub } of scopes) {
        const mine = owner(item).includes(name);
        const where = `${item === inA ? "A's" : "default's"} items seen from ${name}`;

        const detail = await codeOf(vod.DescribeTaskDetail({ TaskId: item.taskId, ...sub }));
        assert.equal(detail, mine ? "ok" : "InvalidParameterValue.TaskId", where);
        const abort = await codeOf(vod.ManageTask({ TaskId: item.taskId, OperationType: "Abort", ...sub }));
        assert.equal(abort, mine ? "FailedOperation" : "InvalidParameterValue.TaskId", where);

        const infos: any = await vod.DescribeMediaInfos({ FileIds: [item.fileId], ...sub });
        assert.deepEqual(infos.NotExistFileIdSet, mine ? [] : [item.fileId], where);
        assert.equal(infos.MediaInfoSet.length, mine ? 1 : 0, where);

        const attrs = await codeOf(vod.DescribeFileAttributes({ FileId: item.fileId, ...sub }));
        assert.equal(attrs, mine ? "ok" : "InvalidParameterValue.FileId", where);

        const tasks: any = await vod.DescribeTasks({ Limit: 100, ...sub });
        assert.equal(
          tasks.TaskSet.some((t: any) => t.TaskId === item.taskId),
          mine,
          where,
        );
        const search: any = await vod.SearchMedia({ FileIds: [item.fileId], ...sub });
        assert.equal(search.TotalCount, mine ? 1 : 0, where);
      }
    }
    const inB: any = await vod.DescribeTasks({ SubAppId: appB, Limit: 100 });
    assert.deepEqual(inB.TaskSet, []);

    // SubAppId arrives as a string in form and query requests; it addresses the same app.
    for (const o of [
      { signMethod: "HmacSHA1", reqMethod: "GET" },
      { reqMethod: "GET" },
      { signMethod: "HmacSHA256" },
    ]) {
      const c = server.client(o);
      const d: any = await c.DescribeTaskDetail({ TaskId: inA.taskId, SubAppId: appA });
      assert.equal(d.PullUploadTask.FileId, inA.fileId, JSON.stringify(o));
      assert.equal(
        await codeOf(c.DescribeTaskDetail({ TaskId: inA.taskId, SubAppId: appB })),
        "InvalidParameterValue.TaskId",
      );
      assert.equal(
        await codeOf(c.DescribeTaskDetail({ TaskId: inA.taskId })),
        "InvalidParameterValue.TaskId",
      );
    }
  });

  it("parallel CreateSubAppId calls get distinct ids", async () => {
    const ids = await Promise.all(
      Array.from({ length: 6 }, (_, i) => vod.CreateSubAppId({ Name: `p${i}` }).then((r) => r.SubAppId!)),
    );
    assert.deepEqual(
      [...ids].sort((a, b) => a - b),
      Array.from({ length: 6 }, (_, i) => appB + 1 + i),
    );
  });
});

describe("applications when the account AppId is in the SubAppId range", () => {
  const { server } = withOpenvod({ env: { OPENVOD_APP_ID: String(FIRST_SUB_APP_ID) } });

  it("CreateSubAppId never reuses the default application's id", async () => {
    const vod = server.client();
    const { SubAppId } = await vod.CreateSubAppId({ Name: "next" });
    assert.notEqual(SubAppId, FIRST_SUB_APP_ID);
    assert.ok(SubAppId! > FIRST_SUB_APP_ID);
    const r: any = await vod.DescribeSubAppIds({});
    assert.deepEqual(
      r.SubAppIdInfoSet.map((a: any) => [a.SubAppId, a.Name]),
      [
        [FIRST_SUB_APP_ID, "default"],
        [SubAppId, "next"],
      ],
    );
  });
});
