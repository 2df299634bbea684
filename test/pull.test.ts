// PullUpload end to end through the official SDK: a real download, ffprobe metadata, a FileUrl
// that serves the same bytes, and DescribeFileAttributes hashes that match.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { audio, text, video, withOpenvod } from "./helpers/openvod.js";
import { sdkError, waitForTask } from "./helpers/server.js";

describe("PullUpload", () => {
  const { server, files, path } = withOpenvod({
    media: {
      "clip.mp4": video({ width: 320, height: 240, seconds: 2 }),
      "tone.m4a": audio(1),
      "notes.mp4": text("this is not a video\n".repeat(100)),
    },
  });

  it("pulls a video, probes it and serves it", async () => {
    const vod = server.client();
    const { TaskId } = await vod.PullUpload({
      MediaUrl: `${files.url}/clip.mp4`,
      MediaName: "clip",
      SessionContext: "ctx-1",
    });
    assert.match(TaskId!, /^1250000000-pull-[0-9a-f]{32}t0$/);
    const { detail, seen } = await waitForTask(vod, TaskId!);
    assert.equal(seen.at(-1), "FINISH");
    assert.equal(detail.TaskType, "PullUpload");
    const t = detail.PullUploadTask;
    assert.equal(t.ErrCode, 0, t.Message);
    assert.equal(t.Progress, 100);
    assert.equal(t.SessionContext, "ctx-1");
    assert.match(t.FileId, /^\d{19}$/);
    assert.equal(t.MetaData.Width, 320);
    assert.equal(t.MetaData.Height, 240);
    assert.ok(Math.abs(t.MetaData.Duration - 2) < 0.2, `duration ${t.MetaData.Duration}`);
    assert.equal(t.MetaData.VideoStreamSet[0].Codec, "h264");
    assert.equal(t.MetaData.AudioStreamSet[0].Codec, "aac");
    assert.equal(t.MediaBasicInfo.Name, "clip");
    assert.equal(t.MediaBasicInfo.Category, "Video");
    assert.equal(t.MediaBasicInfo.Type, "mp4");
    assert.equal(t.FileUrl, t.MediaBasicInfo.MediaUrl);
    assert.ok(t.FileUrl.startsWith(server.url + "/files/"));
    // Every task field of the cloud's answer is present, the ones that do not apply as null.
    assert.equal(detail.ProcedureTask, null);
    assert.equal(detail.DescribeFileAttributesTask, null);
    assert.ok("RebuildMediaTask" in detail);

    const res = await fetch(t.FileUrl);
    assert.equal(res.status, 200);
    const body = Buffer.from(await res.arrayBuffer());
    assert.deepEqual(body, readFileSync(path("clip.mp4")));

    const range = await fetch(t.FileUrl, { headers: { range: "bytes=10-19" } });
    assert.equal(range.status, 206);
    assert.deepEqual(Buffer.from(await range.arrayBuffer()), body.subarray(10, 20));

    const infos: any = await vod.DescribeMediaInfos({ FileIds: [t.FileId, "1234567890123456789"] });
    assert.equal(infos.MediaInfoSet.length, 1);
    assert.deepEqual(infos.NotExistFileIdSet, ["1234567890123456789"]);
    assert.equal(infos.MediaInfoSet[0].MetaData.Width, 320);
    assert.equal(infos.MediaInfoSet[0].MetaData.Md5, "");

    const attr = await vod.DescribeFileAttributes({ FileId: t.FileId });
    const { detail: fa } = await waitForTask(vod, attr.TaskId!);
    assert.equal(fa.TaskType, "DescribeFileAttributesTask");
    assert.equal(fa.DescribeFileAttributesTask.Status, "SUCCESS");
    assert.equal(fa.DescribeFileAttributesTask.Output.Md5, createHash("md5").update(body).digest("hex"));
    assert.equal(fa.DescribeFileAttributesTask.Output.Sha1, createHash("sha1").update(body).digest("hex"));
    const after: any = await vod.DescribeMediaInfos({ FileIds: [t.FileId], Filters: ["metaData"] });
    assert.equal(after.MediaInfoSet[0].MetaData.Md5, fa.DescribeFileAttributesTask.Output.Md5);
    assert.equal(after.MediaInfoSet[0].BasicInfo, null);
  });

  it("pulls audio-only media as Audio", async () => {
    const vod = server.client();
    const { TaskId } = await vod.PullUpload({ MediaUrl: `${files.url}/tone.m4a` });
    const { detail } = await waitForTask(vod, TaskId!);
    assert.equal(detail.PullUploadTask.ErrCode, 0, detail.PullUploadTask.Message);
    assert.equal(detail.PullUploadTask.MediaBasicInfo.Category, "Audio");
    assert.equal(detail.PullUploadTask.MediaBasicInfo.Name, "tone");
  });

  it("ends FINISH with 60000 for a file that is not media", async () => {
    const vod = server.client();
    const { TaskId } = await vod.PullUpload({ MediaUrl: `${files.url}/notes.mp4` });
    const { detail } = await waitForTask(vod, TaskId!);
    assert.equal(detail.Status, "FINISH");
    assert.equal(detail.PullUploadTask.ErrCode, 60000);
    assert.match(detail.PullUploadTask.Message, /could not be read as media/);
    assert.equal(detail.PullUploadTask.FileId, "");
  });

  it("ends FINISH with 60000 for a URL that answers 404", async () => {
    const vod = server.client();
    const { TaskId } = await vod.PullUpload({ MediaUrl: `${files.url}/missing.mp4` });
    const { detail } = await waitForTask(vod, TaskId!);
    assert.equal(detail.PullUploadTask.ErrCode, 60000);
    assert.match(detail.PullUploadTask.Message, /HTTP 404/);
  });

  it("refuses bad URLs up front", async () => {
    const vod = server.client();
    assert.equal(
      (await sdkError(() => vod.PullUpload({ MediaUrl: "ftp://example.com/a.mp4" }))).code,
      "InvalidParameterValue.MediaUrl",
    );
    assert.equal(
      (await sdkError(() => vod.PullUpload({ MediaUrl: "not a url" }))).code,
      "InvalidParameterValue.MediaUrl",
    );
    assert.equal((await sdkError(() => vod.PullUpload({} as any))).code, "MissingParameter");
    assert.equal(
      (await sdkError(() => vod.PullUpload({ MediaUrl: `${files.url}/clip.mp4`, TasksPriority: 11 }))).code,
      "InvalidParameterValue.TasksPriority",
    );
  });
});
