// Request validation on a real openvod process, through the official SDK: list parameters are
// capped as the spec states (and by a general cap and a per-request budget where it states none),
// so no request builds a giant SQL expression or hours of ffmpeg work; strings with a lone
// surrogate or a control character are refused at submit instead of failing later or being
// stored altered, while tabs, newlines and non-BMP characters are kept exactly.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { video, withOpenvod } from "./helpers/openvod.js";
import { SECRET_ID, SECRET_KEY, sdkError, waitForTask } from "./helpers/server.js";
import { rawRequest, tc3Headers } from "./helpers/sign.js";

const many = <T>(n: number, v: T): T[] => Array.from({ length: n }, () => v);
const NAME = "片段 😀 clip";

/** Fails unless the call is refused with this code and a message naming the parameter path. */
async function refused(call: () => Promise<unknown>, code: string, path: string): Promise<string> {
  const e = await sdkError(call);
  assert.equal(e.code, code, e.message);
  assert.ok(e.message.includes(`\`${path}\``), e.message);
  return e.message;
}

describe("request validation", () => {
  const { server, vod, pull } = withOpenvod({
    media: { "clip.mp4": video({ width: 160, height: 120, seconds: 1 }) },
  });
  let fileId: string;

  before(async () => {
    fileId = await pull("clip.mp4", { mediaName: NAME });
  });

  it("caps SearchMedia's list filters as the spec states (10; 16 for Tags)", async () => {
    const found = await vod.SearchMedia({
      Names: [...many(9, "nothing-like-it"), "😀"],
      Tags: many(16, "t"),
    });
    assert.equal(found.TotalCount, 0, "Tags must match too");
    const byName = await vod.SearchMedia({ Names: [...many(9, "nothing-like-it"), "😀"] });
    assert.deepEqual(
      byName.MediaInfoSet!.map((m) => m.FileId),
      [fileId],
    );
    // These used to end in InternalError ("Expression tree is too large", "too many SQL variables").
    const msg = await refused(
      () => vod.SearchMedia({ Names: many(1000, "x") }),
      "InvalidParameterValue.Names",
      "Names",
    );
    assert.match(msg, /1000 elements; at most 10/);
    await refused(() => vod.SearchMedia({ Tags: many(40_000, "x") }), "InvalidParameterValue.Tags", "Tags");
    await refused(() => vod.SearchMedia({ Tags: many(17, "x") }), "InvalidParameterValue.Tags", "Tags");
    for (const [key, value] of [
      ["FileIds", "1"],
      ["NamePrefixes", "x"],
      ["Descriptions", "x"],
      ["ClassIds", 1],
    ] as const)
      await refused(() => vod.SearchMedia({ [key]: many(11, value) }), `InvalidParameterValue.${key}`, key);
    // The legacy (form) signature reaches the same caps.
    const legacy = server.client({ signMethod: "HmacSHA256" });
    await refused(
      () => legacy.SearchMedia({ ClassIds: many(11, 1) }),
      "InvalidParameterValue.ClassIds",
      "ClassIds",
    );
    // A list the spec gives no limit: the general cap.
    await refused(
      () => vod.SearchMedia({ Filters: many(1001, "basicInfo") }),
      "InvalidParameterValue.Filters",
      "Filters",
    );
  });

  it("caps snapshot time points at 100, in tasks and in Procedure templates", async () => {
    const task = (n: number) => ({
      FileId: fileId,
      MediaProcessTask: {
        SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: many(n, "0.5s") }],
      },
    });
    const path = "MediaProcessTask.SnapshotByTimeOffsetTaskSet.0.ExtTimeOffsetSet";
    await refused(() => vod.ProcessMedia(task(100_000)), "InvalidParameterValue.ExtTimeOffsetSet", path);
    await refused(() => vod.ProcessMedia(task(101)), "InvalidParameterValue.ExtTimeOffsetSet", path);
    await refused(
      () =>
        vod.CreateProcedureTemplate({
          Name: "many-shots",
          MediaProcessTask: {
            SnapshotByTimeOffsetTaskSet: [{ Definition: 10, TimeOffsetSet: many(101, 500) }],
          },
        }),
      "InvalidParameterValue.TimeOffsetSet",
      "MediaProcessTask.SnapshotByTimeOffsetTaskSet.0.TimeOffsetSet",
    );
    const { TaskId } = await vod.ProcessMedia(task(3));
    const { detail } = await waitForTask(vod, TaskId!);
    assert.equal(detail.ProcedureTask.MediaProcessResultSet[0].SnapshotByTimeOffsetTask.Status, "SUCCESS");
  });

  it("bounds the values of a whole request, even when every list is within its cap", async () => {
    // 1,000 transcodes (the general cap) of 10 watermarks each (the spec's cap): 22,000 values.
    const e = await sdkError(() =>
      vod.ProcessMedia({
        FileId: fileId,
        MediaProcessTask: {
          TranscodeTaskSet: many(1000, { Definition: 100010, WatermarkSet: many(10, { Definition: 1 }) }),
        },
      }),
    );
    assert.equal(e.code, "InvalidParameterValue");
    assert.match(e.message, /more than 10000 parameter values/);
  });

  it("refuses NUL and control characters at submit, with no server path in the message", async () => {
    const msg = await refused(
      () =>
        vod.ProcessMedia({
          FileId: fileId,
          MediaProcessTask: {
            TranscodeTaskSet: [
              { Definition: 100010, WatermarkSet: [{ Definition: 1, TextContent: "a\u0000b" }] },
            ],
          },
        }),
      "InvalidParameterValue.TextContent",
      "MediaProcessTask.TranscodeTaskSet.0.WatermarkSet.0.TextContent",
    );
    assert.doesNotMatch(msg, /ffmpeg|\/(usr|tmp|var|home|opt)\//);
    await refused(
      () => vod.ModifyMediaInfo({ FileId: fileId, Description: "bell \u0007" }),
      "InvalidParameterValue.Description",
      "Description",
    );
    await refused(
      () => vod.ModifyMediaInfo({ FileId: fileId, Name: "two\nlines" }),
      "InvalidParameterValue.Name",
      "Name",
    );
  });

  it("refuses lone surrogates and non-UTF-8 bytes, and keeps tabs, newlines and emoji exactly", async () => {
    // A client whose JSON escapes the unpaired half ("\udc00", as JSON.stringify writes it).
    const post = (body: string | Buffer, action: string) =>
      rawRequest(
        server.port,
        "POST",
        "/",
        tc3Headers({ secretId: SECRET_ID, secretKey: SECRET_KEY, body, action }),
        body,
      );
    const escaped = await post(`{"FileId":"${fileId}","Name":"x\\udc00y"}`, "ModifyMediaInfo");
    assert.equal(escaped.json.Response.Error?.Code, "InvalidParameterValue.Name", escaped.text);
    assert.match(escaped.json.Response.Error.Message, /`Name` contains a lone UTF-16 surrogate/);
    // The same half encoded as bytes (CESU-8), which a lenient decoder turns into U+FFFDs.
    const cesu = Buffer.concat([
      Buffer.from(`{"FileId":"${fileId}","Name":"x`),
      Buffer.from([0xed, 0xb0, 0x80]),
      Buffer.from('"}'),
    ]);
    const bytes = await post(cesu, "ModifyMediaInfo");
    assert.equal(bytes.json.Response.Error?.Code, "InvalidParameterValue", bytes.text);
    assert.match(bytes.json.Response.Error.Message, /not valid UTF-8/);
    // The same in a legacy GET query string.
    const query = `Action=SearchMedia&Version=2018-07-17&Names.0=x%ED%B0%80y`;
    const got = await rawRequest(
      server.port,
      "GET",
      `/?${query}`,
      tc3Headers({
        secretId: SECRET_ID,
        secretKey: SECRET_KEY,
        body: "",
        method: "GET",
        query,
        action: "SearchMedia",
      }),
    );
    assert.equal(got.json.Response.Error?.Code, "InvalidParameterValue", got.text);
    await refused(() => vod.SearchMedia({ Names: ["a\u0000"] }), "InvalidParameterValue.Names", "Names.0");

    // The official SDK itself replaces an unpaired half by U+FFFD before sending: what arrives
    // is kept as it arrived and found again by the same name.
    await vod.ModifyMediaInfo({ FileId: fileId, Name: "half \ud83d pair" });
    const again = await vod.SearchMedia({ Names: ["half \ud83d pair"] });
    assert.deepEqual(
      again.MediaInfoSet!.map((m) => [m.FileId, m.BasicInfo!.Name]),
      [[fileId, "half \ufffd pair"]],
    );

    const description = "line 1\nline 2\tend 😀";
    await vod.ModifyMediaInfo({ FileId: fileId, Name: NAME, Description: description });
    const info = await vod.DescribeMediaInfos({ FileIds: [fileId], Filters: ["basicInfo"] });
    const basic = info.MediaInfoSet![0]!.BasicInfo!;
    assert.equal(basic.Name, NAME);
    assert.equal(basic.Description, description);
  });
});
