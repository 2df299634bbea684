// The media library end to end through the official SDK: ModifyMediaInfo (fields, tags, a real
// cover image), SearchMedia over three pulled files (video, audio, image), DescribeMediaInfos
// limits, DeleteMedia removing real files, and the /files/ server (HEAD, Range, traversal).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import {
  audio as audioFile,
  image as imageFile,
  text,
  video as videoFile,
  withOpenvod,
} from "./helpers/openvod.js";
import { APP_ID, sdkError, waitForTask } from "./helpers/server.js";
import { rawGet } from "./helpers/sign.js";

/** A raw HTTP request: the path goes on the wire exactly as given (fetch would normalize it). */

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Image dimensions read from a PNG's IHDR chunk. */
function pngSize(b: Buffer): { width: number; height: number } {
  assert.equal(b.subarray(1, 4).toString("latin1"), "PNG");
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

const SEARCH_CLASS = 7;

describe("media library", () => {
  const { server, files, vod, dir } = withOpenvod({
    media: {
      "clip.mp4": videoFile({ width: 320, height: 240, seconds: 1 }),
      "tone.mp3": audioFile(1),
      "poster.png": imageFile(160, 120),
      "cover-a.png": imageFile(64, 48),
      "cover-b.png": imageFile(32, 24),
      "notes.txt": text("just some text, certainly not an image\n".repeat(20)),
    },
  });
  /** The three search subjects, in creation order, each created in its own second. */
  let video: any, audio: any, image: any;

  async function pull(path: string, extra: Record<string, unknown> = {}): Promise<any> {
    const { TaskId } = await vod.PullUpload({ MediaUrl: `${files.url}/${path}`, ...extra });
    const { detail } = await waitForTask(vod, TaskId!);
    assert.equal(detail.Status, "FINISH");
    assert.equal(detail.PullUploadTask.ErrCode, 0, detail.PullUploadTask.Message);
    return detail.PullUploadTask;
  }

  /** Waits (polling the clock) until the next media item will be created in a later second. */
  async function nextSecond(createTime: string): Promise<void> {
    while (Date.now() < Date.parse(createTime) + 1000) await new Promise((r) => setTimeout(r, 20));
  }

  async function info(fileId: string, filters?: string[]): Promise<any> {
    const r: any = await vod.DescribeMediaInfos({
      FileIds: [fileId],
      ...(filters ? { Filters: filters } : {}),
    });
    assert.equal(r.MediaInfoSet.length, 1, `media ${fileId} missing`);
    return r.MediaInfoSet[0];
  }

  const ids = (r: any) => r.MediaInfoSet.map((m: any) => m.FileId);

  before(async () => {
    video = await pull("clip.mp4", { MediaName: "clip one", ClassId: SEARCH_CLASS });
    await nextSecond(video.MediaBasicInfo.CreateTime);
    audio = await pull("tone.mp3", { MediaName: "tone two", ClassId: SEARCH_CLASS });
    await nextSecond(audio.MediaBasicInfo.CreateTime);
    image = await pull("poster.png", {
      MediaName: "🎬 poster",
      ClassId: SEARCH_CLASS,
      ExpireTime: "2040-01-01T00:00:00Z",
    });
    await vod.ModifyMediaInfo({ FileId: audio.FileId, Description: "ocean waves" });
    await vod.ModifyMediaInfo({ FileId: video.FileId, AddTags: ["sea", "sky"] });
    await vod.ModifyMediaInfo({ FileId: image.FileId, AddTags: ["sky"] });
  });

  describe("SearchMedia", () => {
    const search = (p: Record<string, unknown>) =>
      vod.SearchMedia({ ClassIds: [SEARCH_CLASS], ...p }) as Promise<any>;

    it("pulled the three subjects with their categories", () => {
      assert.equal(video.MediaBasicInfo.Category, "Video");
      assert.equal(audio.MediaBasicInfo.Category, "Audio");
      assert.equal(image.MediaBasicInfo.Category, "Image");
      assert.equal(image.MediaBasicInfo.Type, "png");
      assert.equal(image.MetaData.Width, 160);
      assert.equal(image.MetaData.Height, 120);
    });

    it("sorts by CreateTime, Desc by default, and counts every match", async () => {
      const desc = await search({});
      assert.equal(desc.TotalCount, 3);
      assert.deepEqual(ids(desc), [image.FileId, audio.FileId, video.FileId]);
      const asc = await search({ Sort: { Field: "CreateTime", Order: "Asc" } });
      assert.deepEqual(ids(asc), [video.FileId, audio.FileId, image.FileId]);
      const explicitDesc = await search({ Sort: { Field: "CreateTime", Order: "Desc" } });
      assert.deepEqual(ids(explicitDesc), [image.FileId, audio.FileId, video.FileId]);
      assert.equal(
        (await sdkError(() => search({ Sort: { Field: "CreateTime", Order: "Sideways" } }))).code,
        "InvalidParameterValue.Sort",
      );
      assert.equal(
        (await sdkError(() => search({ Sort: { Field: "Name", Order: "Asc" } }))).code,
        "InvalidParameterValue.Sort",
      );
    });

    it("pages with Offset/Limit while TotalCount stays the full count", async () => {
      const asc = { Sort: { Field: "CreateTime", Order: "Asc" } };
      const p1 = await search({ ...asc, Offset: 0, Limit: 2 });
      assert.equal(p1.TotalCount, 3);
      assert.deepEqual(ids(p1), [video.FileId, audio.FileId]);
      const p2 = await search({ ...asc, Offset: 2, Limit: 2 });
      assert.equal(p2.TotalCount, 3);
      assert.deepEqual(ids(p2), [image.FileId]);
      const mid = await search({ ...asc, Offset: 1, Limit: 1 });
      assert.deepEqual(ids(mid), [audio.FileId]);
      const past = await search({ ...asc, Offset: 3, Limit: 10 });
      assert.equal(past.TotalCount, 3);
      assert.deepEqual(past.MediaInfoSet, []);
      assert.equal((await sdkError(() => search({ Limit: 5001 }))).code, "InvalidParameterValue.Limit");
      assert.equal(
        (await sdkError(() => search({ Offset: 4990, Limit: 20 }))).code,
        "InvalidParameterValue.Offset",
      );
    });

    it("filters by Names (fuzzy), NamePrefixes and FileIds", async () => {
      const exact = await search({ Names: ["tone two"] });
      assert.deepEqual(ids(exact), [audio.FileId]);
      // The cloud matches Names fuzzily: a part of the name finds it.
      const part = await search({ Names: ["clip"] });
      assert.deepEqual(ids(part), [video.FileId]);
      const none = await search({ Names: ["nothing like it"] });
      assert.equal(none.TotalCount, 0);
      assert.deepEqual(none.MediaInfoSet, []);

      const prefixed = await search({ NamePrefixes: ["clip", "ton"] });
      assert.deepEqual(ids(prefixed), [audio.FileId, video.FileId]);
      assert.equal((await search({ NamePrefixes: ["one"] })).TotalCount, 0);
      // A prefix outside the Basic Multilingual Plane (two UTF-16 units, one character).
      const emoji = await search({ NamePrefixes: ["🎬"] });
      assert.deepEqual(ids(emoji), [image.FileId]);
      const emojiMore = await search({ NamePrefixes: ["🎬 po"] });
      assert.deepEqual(ids(emojiMore), [image.FileId]);

      const byId = await search({ FileIds: [audio.FileId, image.FileId, "1234567890123456789"] });
      assert.equal(byId.TotalCount, 2);
      assert.deepEqual(ids(byId), [image.FileId, audio.FileId]);
    });

    it("filters by Descriptions and Text (fuzzy, name or description)", async () => {
      assert.deepEqual(ids(await search({ Descriptions: ["waves"] })), [audio.FileId]);
      assert.deepEqual(ids(await search({ Descriptions: ["ocean waves"] })), [audio.FileId]);
      assert.equal((await search({ Descriptions: ["clip"] })).TotalCount, 0);
      assert.deepEqual(ids(await search({ Text: "waves" })), [audio.FileId]);
      assert.deepEqual(ids(await search({ Text: "poster" })), [image.FileId]);
      assert.deepEqual(ids(await search({ Text: "o" })), [image.FileId, audio.FileId, video.FileId]);
      assert.equal((await search({ Text: "nowhere" })).TotalCount, 0);
    });

    it("filters by Status, StorageClasses and ExpireTime", async () => {
      // Everything openvod stores is Normal, in STANDARD storage.
      assert.equal((await search({ Status: ["Normal"] })).TotalCount, 3);
      assert.equal((await search({ Status: ["Forbidden"] })).TotalCount, 0);
      assert.equal((await search({ StorageClasses: ["STANDARD"] })).TotalCount, 3);
      assert.equal((await search({ StorageClasses: ["ARCHIVE", "DEEP_ARCHIVE"] })).TotalCount, 0);
      assert.equal(image.MediaBasicInfo.ExpireTime, "2040-01-01T00:00:00Z");
      assert.equal(video.MediaBasicInfo.ExpireTime, "9999-12-31T23:59:59Z");
      const early = { ExpireTime: { Before: "2041-01-01T00:00:00Z" } };
      assert.deepEqual(ids(await search(early)), [image.FileId]);
      const late = { ExpireTime: { After: "2041-01-01T00:00:00+08:00" } };
      assert.deepEqual(ids(await search(late)), [audio.FileId, video.FileId]);
      assert.equal((await search({ ExpireTime: { Before: "2039-12-31T23:59:59Z" } })).TotalCount, 0);
      assert.equal(
        (await sdkError(() => search({ ExpireTime: { After: "never" } }))).code,
        "InvalidParameterValue.ExpireTime",
      );
    });

    it("filters by Categories and Tags", async () => {
      assert.deepEqual(ids(await search({ Categories: ["Audio"] })), [audio.FileId]);
      assert.deepEqual(ids(await search({ Categories: ["Image"] })), [image.FileId]);
      assert.deepEqual(ids(await search({ Categories: ["Video", "Image"] })), [image.FileId, video.FileId]);
      assert.equal(
        (await sdkError(() => search({ Categories: ["Movie"] }))).code,
        "InvalidParameterValue.Categories",
      );
      assert.deepEqual(ids(await search({ Tags: ["sea"] })), [video.FileId]);
      assert.deepEqual(ids(await search({ Tags: ["sky"] })), [image.FileId, video.FileId]);
      assert.deepEqual(ids(await search({ Tags: ["sea", "sky"] })), [image.FileId, video.FileId]);
      assert.equal((await search({ Tags: ["ocean"] })).TotalCount, 0);
      // Conditions of different kinds must all hold.
      assert.deepEqual(ids(await search({ Tags: ["sky"], Categories: ["Image"] })), [image.FileId]);
      assert.equal((await search({ Tags: ["sea"], Categories: ["Audio"] })).TotalCount, 0);
    });

    it("filters by a CreateTime range (After inclusive, Before exclusive)", async () => {
      const tv = video.MediaBasicInfo.CreateTime;
      const ta = audio.MediaBasicInfo.CreateTime;
      const ti = image.MediaBasicInfo.CreateTime;
      assert.ok(Date.parse(tv) < Date.parse(ta) && Date.parse(ta) < Date.parse(ti), `${tv} ${ta} ${ti}`);
      const asc = { Sort: { Field: "CreateTime", Order: "Asc" } };
      assert.deepEqual(ids(await search({ ...asc, CreateTime: { After: ta } })), [
        audio.FileId,
        image.FileId,
      ]);
      assert.deepEqual(ids(await search({ ...asc, CreateTime: { Before: ta } })), [video.FileId]);
      assert.deepEqual(ids(await search({ ...asc, CreateTime: { After: ta, Before: ti } })), [audio.FileId]);
      assert.deepEqual(ids(await search({ ...asc, CreateTime: { After: tv, Before: ti } })), [
        video.FileId,
        audio.FileId,
      ]);
      // StartTime/EndTime: the older spelling of the same range.
      const asc2 = { ...asc, StartTime: ta, EndTime: ti };
      assert.deepEqual(ids(await search(asc2)), [audio.FileId]);
      assert.deepEqual(ids(await search({ ...asc, StartTime: ta })), [audio.FileId, image.FileId]);
      const future = new Date(Date.now() + 3600_000).toISOString();
      assert.equal((await search({ CreateTime: { After: future } })).TotalCount, 0);
      assert.equal(
        (await sdkError(() => search({ CreateTime: { After: "yesterday-ish" } }))).code,
        "InvalidParameterValue.CreateTime",
      );
    });

    it("returns only the parts named in Filters", async () => {
      const basic = await search({ FileIds: [video.FileId], Filters: ["basicInfo"] });
      const m = basic.MediaInfoSet[0];
      assert.equal(m.FileId, video.FileId);
      assert.equal(m.MetaData, null);
      assert.equal(m.BasicInfo.Name, "clip one");
      assert.equal(m.BasicInfo.ClassId, SEARCH_CLASS);
      assert.deepEqual(m.BasicInfo.TagSet, ["sea", "sky"]);
      assert.equal(m.BasicInfo.MediaUrl, video.FileUrl);
      const meta = await search({ FileIds: [video.FileId], Filters: ["metaData"] });
      assert.equal(meta.MediaInfoSet[0].BasicInfo, null);
      assert.equal(meta.MediaInfoSet[0].MetaData.Width, 320);
      const all = await search({ FileIds: [video.FileId] });
      assert.equal(all.MediaInfoSet[0].BasicInfo.Name, "clip one");
      assert.equal(all.MediaInfoSet[0].MetaData.Height, 240);
      assert.equal(
        (await sdkError(() => search({ Filters: ["subtitleInfo"] }))).code,
        "InvalidParameterValue.Filters",
      );
    });
  });

  describe("DescribeMediaInfos", () => {
    it("refuses more than 20 FileIds and unsupported filters", async () => {
      const many = Array.from({ length: 21 }, (_, i) => String(1000000000000000000n + BigInt(i)));
      assert.equal(
        (await sdkError(() => vod.DescribeMediaInfos({ FileIds: many }))).code,
        "InvalidParameterValue.FileIdsTooMany",
      );
      const twenty: any = await vod.DescribeMediaInfos({ FileIds: [video.FileId, ...many.slice(0, 19)] });
      assert.equal(twenty.MediaInfoSet.length, 1);
      assert.equal(twenty.NotExistFileIdSet.length, 19);
      assert.equal(
        (
          await sdkError(() =>
            vod.DescribeMediaInfos({ FileIds: [video.FileId], Filters: ["miniProgramReviewInfo"] }),
          )
        ).code,
        "InvalidParameterValue.Filters",
      );
    });
  });

  describe("ModifyMediaInfo", () => {
    let subject: any;
    before(async () => {
      subject = await pull("clip.mp4", { MediaName: "to modify" });
    });

    it("changes Name, Description, ClassId and ExpireTime", async () => {
      const r: any = await vod.ModifyMediaInfo({
        FileId: subject.FileId,
        Name: "renamed",
        Description: "a description",
        ClassId: 12,
        ExpireTime: "2031-05-06T07:08:09Z",
      });
      assert.equal(r.CoverUrl, "");
      assert.deepEqual(r.AddedSubtitleSet, []);
      const b = (await info(subject.FileId)).BasicInfo;
      assert.equal(b.Name, "renamed");
      assert.equal(b.Description, "a description");
      assert.equal(b.ClassId, 12);
      assert.equal(b.ExpireTime, "2031-05-06T07:08:09Z");
      // Fields not named stay as they were.
      await vod.ModifyMediaInfo({ FileId: subject.FileId, Description: "second" });
      const b2 = (await info(subject.FileId)).BasicInfo;
      assert.equal(b2.Name, "renamed");
      assert.equal(b2.Description, "second");
      assert.equal(b2.ClassId, 12);
      assert.equal(b2.ExpireTime, "2031-05-06T07:08:09Z");
      // Times are shown the way the cloud prints them (UTC, no fraction), whatever the input offset.
      await vod.ModifyMediaInfo({ FileId: subject.FileId, ExpireTime: "2031-05-06T15:08:09+08:00" });
      assert.equal((await info(subject.FileId)).BasicInfo.ExpireTime, "2031-05-06T07:08:09Z");

      for (const bad of ["soon", "12", "2031-05-06 07:08:09", "May 6, 2031 07:08:09"]) {
        assert.equal(
          (await sdkError(() => vod.ModifyMediaInfo({ FileId: subject.FileId, ExpireTime: bad }))).code,
          "InvalidParameterValue.ExpireTime",
          bad,
        );
        assert.equal(
          (await sdkError(() => vod.PullUpload({ MediaUrl: `${files.url}/clip.mp4`, ExpireTime: bad }))).code,
          "InvalidParameterValue.ExpireTime",
          bad,
        );
      }
      assert.equal((await info(subject.FileId)).BasicInfo.ExpireTime, "2031-05-06T07:08:09Z");
      assert.equal(
        (await sdkError(() => vod.ModifyMediaInfo({ FileId: subject.FileId, Name: "n".repeat(65) }))).code,
        "InvalidParameterValue.Name",
      );
      assert.equal(
        (await sdkError(() => vod.ModifyMediaInfo({ FileId: "1234567890123456789", Name: "x" }))).code,
        "ResourceNotFound.FileNotExist",
      );
      assert.equal((await info(subject.FileId)).BasicInfo.Name, "renamed");
    });

    it("adds, deletes and clears tags", async () => {
      await vod.ModifyMediaInfo({ FileId: subject.FileId, AddTags: ["a", "b", "b"] });
      assert.deepEqual((await info(subject.FileId)).BasicInfo.TagSet, ["a", "b"]);
      await vod.ModifyMediaInfo({ FileId: subject.FileId, AddTags: ["c"], DeleteTags: ["a"] });
      assert.deepEqual((await info(subject.FileId)).BasicInfo.TagSet, ["b", "c"]);
      await vod.ModifyMediaInfo({ FileId: subject.FileId, DeleteTags: ["not-there"] });
      assert.deepEqual((await info(subject.FileId)).BasicInfo.TagSet, ["b", "c"]);
      assert.deepEqual(
        ids(await vod.SearchMedia({ Tags: ["c"] })),
        [subject.FileId],
        "search sees the new tag",
      );
      await vod.ModifyMediaInfo({ FileId: subject.FileId, ClearTags: 1 });
      assert.deepEqual((await info(subject.FileId)).BasicInfo.TagSet, []);
      assert.equal(((await vod.SearchMedia({ Tags: ["c"] })) as any).TotalCount, 0);
    });

    it("stores CoverData that is a real image and serves it byte for byte", async () => {
      const png = readFileSync(join(dir(), "cover-a.png"));
      const r: any = await vod.ModifyMediaInfo({ FileId: subject.FileId, CoverData: png.toString("base64") });
      assert.ok(r.CoverUrl.startsWith(`${server.url}/files/${APP_ID}/${subject.FileId}/`), r.CoverUrl);
      assert.equal((await info(subject.FileId)).BasicInfo.CoverUrl, r.CoverUrl);
      const res = await fetch(r.CoverUrl);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "image/png");
      const served = Buffer.from(await res.arrayBuffer());
      assert.equal(sha256(served), sha256(png));
      assert.deepEqual(pngSize(served), { width: 64, height: 48 });

      // A new cover replaces the old one, whose file is gone.
      const png2 = readFileSync(join(dir(), "cover-b.png"));
      const r2: any = await vod.ModifyMediaInfo({
        FileId: subject.FileId,
        CoverData: png2.toString("base64"),
      });
      assert.notEqual(r2.CoverUrl, r.CoverUrl);
      const res2 = await fetch(r2.CoverUrl);
      assert.equal(res2.status, 200);
      const served2 = Buffer.from(await res2.arrayBuffer());
      assert.equal(sha256(served2), sha256(png2));
      assert.deepEqual(pngSize(served2), { width: 32, height: 24 });
      assert.equal((await fetch(r.CoverUrl)).status, 404);
      assert.equal((await info(subject.FileId)).BasicInfo.CoverUrl, r2.CoverUrl);
    });

    it("loses no concurrent change while a cover is being checked", async () => {
      await vod.ModifyMediaInfo({ FileId: subject.FileId, ClearTags: 1 });
      const png = readFileSync(join(dir(), "poster.png")).toString("base64");
      // The cover takes an ffprobe run; the tag change lands meanwhile.
      const slow = vod.ModifyMediaInfo({ FileId: subject.FileId, CoverData: png }) as Promise<any>;
      const fast = vod.ModifyMediaInfo({ FileId: subject.FileId, AddTags: ["concurrent"] });
      const [r] = await Promise.all([slow, fast]);
      const b = (await info(subject.FileId)).BasicInfo;
      assert.deepEqual(b.TagSet, ["concurrent"]);
      assert.equal(b.CoverUrl, r.CoverUrl);
      assert.equal((await fetch(r.CoverUrl)).status, 200);
      // Only the current cover and the original are on disk: replaced covers are removed.
      const onDisk = readdirSync(join(server.dataDir, "files", String(APP_ID), subject.FileId)).sort();
      assert.deepEqual(onDisk, [r.CoverUrl.split("/").pop(), subject.FileUrl.split("/").pop()].sort());
      await vod.ModifyMediaInfo({ FileId: subject.FileId, ClearTags: 1 });
    });

    it("refuses CoverData that is not an image, and keeps the old cover", async () => {
      const before = (await info(subject.FileId)).BasicInfo.CoverUrl;
      assert.notEqual(before, "");
      for (const data of [
        readFileSync(join(dir(), "notes.txt")).toString("base64"),
        readFileSync(join(dir(), "clip.mp4")).toString("base64"),
        readFileSync(join(dir(), "tone.mp3")).toString("base64"),
      ]) {
        const e = await sdkError(() => vod.ModifyMediaInfo({ FileId: subject.FileId, CoverData: data }));
        assert.equal(e.code, "InvalidParameterValue.CoverData");
      }
      assert.equal(
        (await sdkError(() => vod.ModifyMediaInfo({ FileId: subject.FileId, CoverData: "" }))).code,
        "InvalidParameterValue.CoverData",
      );
      assert.equal((await info(subject.FileId)).BasicInfo.CoverUrl, before);
      assert.equal((await fetch(before)).status, 200);
      // The decoded upload was scratch: nothing of it stays in the data directory's tmp.
      assert.deepEqual(readdirSync(join(server.dataDir, "tmp")), []);
    });

    it("refuses subtitles and key frames as unsupported", async () => {
      const sub = await sdkError(() =>
        vod.ModifyMediaInfo({
          FileId: subject.FileId,
          AddSubtitles: [{ Name: "en", Language: "en-US", Format: "vtt", Content: "V0VCVlRUCg==" }],
        }),
      );
      assert.equal(sub.code, "UnsupportedOperation");
      assert.equal(
        (await sdkError(() => vod.ModifyMediaInfo({ FileId: subject.FileId, ClearSubtitles: 1 }))).code,
        "UnsupportedOperation",
      );
      assert.equal(
        (
          await sdkError(() =>
            vod.ModifyMediaInfo({
              FileId: subject.FileId,
              Name: "must not stick",
              AddKeyFrameDescs: [{ TimeOffset: 1, Content: "x" }],
            }),
          )
        ).code,
        "UnsupportedOperation",
      );
      assert.equal((await info(subject.FileId)).BasicInfo.Name, "renamed");
    });
  });

  describe("DeleteMedia", () => {
    it("removes the media item and its files from disk", async () => {
      const m = await pull("clip.mp4", { MediaName: "doomed", CoverUrl: `${files.url}/cover-a.png` });
      const fileDir = join(server.dataDir, "files", String(APP_ID), m.FileId);
      assert.ok(existsSync(fileDir));
      assert.equal(readdirSync(fileDir).length, 2, "original and cover");
      assert.equal((await fetch(m.FileUrl)).status, 200);
      const cover = m.MediaBasicInfo.CoverUrl;
      assert.equal((await fetch(cover)).status, 200);

      const r: any = await vod.DeleteMedia({ FileId: m.FileId });
      assert.equal(typeof r.RequestId, "string");
      assert.equal(existsSync(fileDir), false);
      assert.equal((await fetch(m.FileUrl)).status, 404);
      assert.equal((await fetch(cover)).status, 404);
      const infos: any = await vod.DescribeMediaInfos({ FileIds: [m.FileId, video.FileId] });
      assert.deepEqual(infos.NotExistFileIdSet, [m.FileId]);
      assert.deepEqual(ids(infos), [video.FileId]);
      assert.equal(((await vod.SearchMedia({ FileIds: [m.FileId] })) as any).TotalCount, 0);
      assert.equal(
        (await sdkError(() => vod.DeleteMedia({ FileId: m.FileId }))).code,
        "ResourceNotFound.FileNotExist",
      );
      assert.equal(
        (await sdkError(() => vod.ModifyMediaInfo({ FileId: m.FileId, Name: "back" }))).code,
        "ResourceNotFound.FileNotExist",
      );
      // Other media is untouched.
      assert.equal((await fetch(video.FileUrl)).status, 200);
    });

    it("DeleteParts OriginalFiles removes only the original file", async () => {
      const m = await pull("clip.mp4", {
        MediaName: "keep-meta",
        CoverUrl: `${files.url}/cover-b.png`,
        ExpireTime: "2032-01-01T08:00:00+08:00",
      });
      assert.equal(m.MediaBasicInfo.ExpireTime, "2032-01-01T00:00:00Z");
      const original = join(server.dataDir, "files", String(APP_ID), m.FileId, m.FileUrl.split("/").pop());
      assert.ok(existsSync(original));
      const cover = m.MediaBasicInfo.CoverUrl;
      await vod.DeleteMedia({ FileId: m.FileId, DeleteParts: [{ Type: "OriginalFiles" }] });
      assert.equal(existsSync(original), false);
      assert.equal((await fetch(m.FileUrl)).status, 404);
      const cres = await fetch(cover);
      assert.equal(cres.status, 200);
      assert.equal(
        sha256(Buffer.from(await cres.arrayBuffer())),
        sha256(readFileSync(join(dir(), "cover-b.png"))),
      );
      const left = await info(m.FileId);
      assert.equal(left.BasicInfo.Name, "keep-meta");
      assert.equal(left.BasicInfo.CoverUrl, cover);
      // The item no longer points at a file that is gone.
      assert.equal(left.BasicInfo.MediaUrl, "");
      assert.equal(left.BasicInfo.ExpireTime, "2032-01-01T00:00:00Z");
      // Hashing the original now fails as a task (60000), the server carrying on.
      const attr = await vod.DescribeFileAttributes({ FileId: m.FileId });
      const { detail: fa } = await waitForTask(vod, attr.TaskId!);
      assert.equal(fa.DescribeFileAttributesTask.ErrCode, 60000, fa.DescribeFileAttributesTask.Message);
      assert.equal(fa.DescribeFileAttributesTask.Output, null);
      assert.ok(existsSync(join(server.dataDir, "files", String(APP_ID))), "the store root is intact");
      assert.equal(
        (await sdkError(() => vod.DeleteMedia({ FileId: m.FileId, DeleteParts: [{ Type: "Bogus" }] }))).code,
        "InvalidParameterValue.Type",
      );
      // Deleting the whole item afterwards still works and removes the rest.
      await vod.DeleteMedia({ FileId: m.FileId });
      assert.equal((await fetch(cover)).status, 404);
      assert.equal(existsSync(join(server.dataDir, "files", String(APP_ID), m.FileId)), false);
    });
  });

  describe("file serving", () => {
    it("answers HEAD with the size and a video content type", async () => {
      const path = new URL(video.FileUrl).pathname;
      const size = readFileSync(join(dir(), "clip.mp4")).length;
      const head = await rawGet(server.port, path, "HEAD");
      assert.equal(head.status, 200);
      assert.equal(Number(head.headers["content-length"]), size);
      assert.equal(head.headers["content-type"], "video/mp4");
      assert.equal(head.body.length, 0);
    });

    it("answers a Range with 206 and exactly those bytes", async () => {
      const original = readFileSync(join(dir(), "clip.mp4"));
      const r = await rawGet(server.port, new URL(video.FileUrl).pathname, "GET", { range: "bytes=100-227" });
      assert.equal(r.status, 206);
      assert.equal(r.headers["content-range"], `bytes 100-227/${original.length}`);
      assert.equal(Number(r.headers["content-length"]), 128);
      assert.deepEqual(r.body, original.subarray(100, 228));
      const tail = await rawGet(server.port, new URL(video.FileUrl).pathname, "GET", { range: "bytes=-10" });
      assert.equal(tail.status, 206);
      assert.deepEqual(tail.body, original.subarray(original.length - 10));
    });

    it("never serves anything outside the files directory, nor lists directories", async (t) => {
      if (process.env.OPENVOD_TEST_ON_POSTGRES === "1") return t.skip("reads the SQLite file");
      const secrets = [
        readFileSync(join(server.dataDir, "openvod.db")).subarray(0, 16),
        Buffer.from("SQLite format 3"),
      ];
      for (const path of [
        "/files/../openvod.db",
        "/files/..%2fopenvod.db",
        "/files/%2e%2e/openvod.db",
        "/files/%2e%2e/credentials.json",
        "/files/%2e%2e%2fopenvod.db",
        `/files/${APP_ID}/../../openvod.db`,
        `/files/${APP_ID}/%2e%2e/%2e%2e/openvod.db`,
        "/files/..%5copenvod.db",
        "/files/%252e%252e/openvod.db",
      ]) {
        const r = await rawGet(server.port, path);
        assert.notEqual(r.status, 200, path);
        assert.ok(r.status >= 400, `${path} answered ${r.status}`);
        for (const s of secrets) assert.equal(r.body.includes(s), false, path);
      }
      for (const path of [`/files/${APP_ID}/`, `/files/${APP_ID}/${video.FileId}/`, "/files/"]) {
        const r = await rawGet(server.port, path);
        assert.notEqual(r.status, 200, path);
        assert.equal(r.body.includes(Buffer.from(video.FileId)), false, path);
        assert.equal(r.body.includes(Buffer.from("f0.")), false, path);
      }
    });
  });
});
