// The media library: DescribeMediaInfos, SearchMedia, ModifyMediaInfo, DeleteMedia, and the
// DescribeFileAttributes task that hashes a file.
import { randomBytes } from "node:crypto";
import { writeFile, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { blobKey } from "../blobs/types.js";
import { isoTime, parseIsoTime } from "../domain/ids.js";
import { makeEvent } from "../domain/events.js";
import { MEDIA_INFO_FILTERS, mediaInfo, wantsParts } from "../domain/media.js";
import { MEDIA_PARTS } from "../domain/subtasks/index.js";
import { submitTask, TASK_ABORTED } from "../domain/tasks.js";
import { NotMediaError, probeMedia } from "../media/probe.js";
import { errors } from "../protocol/errors.js";
import type { MediaRow, NewEvent } from "../store/types.js";
import type { ActionContext, ActionFamily } from "./types.js";

async function mediaOf(ctx: ActionContext, fileId: string): Promise<MediaRow> {
  const m = await ctx.deps.store.getMedia(ctx.app.subAppId, fileId);
  if (!m) throw errors.resourceNotFound("FileNotExist", `The file ${fileId} does not exist.`);
  return m;
}

/** MediaInfo of each item, with the processing outputs kept with it when the filters ask. */
async function mediaInfos(ctx: ActionContext, media: MediaRow[], filters: string[] | undefined) {
  const withParts = wantsParts(filters);
  return Promise.all(
    media.map(async (m) =>
      mediaInfo(
        m,
        ctx.deps.urls,
        filters,
        withParts ? await ctx.deps.store.getMediaParts(m.appId, m.fileId) : [],
      ),
    ),
  );
}

function checkFilters(filters: string[] | undefined): void {
  for (const f of filters ?? []) {
    if (!MEDIA_INFO_FILTERS.has(f)) {
      // Parts openvod cannot produce yet are refused rather than answered empty.
      throw errors.invalidParameterValue("Filters", `The filter ${f} is not supported by openvod.`);
    }
  }
}

const DELETE_PART_TYPES = new Set([
  "OriginalFiles",
  "TranscodeFiles",
  "AdaptiveDynamicStreamingFiles",
  "WechatPublishFiles",
  "WechatMiniProgramPublishFiles",
]);

/** The media part kinds a DeleteParts type removes (WeChat publications never exist here). */
const PART_OF_DELETE_TYPE: Record<string, string | undefined> = Object.fromEntries(
  MEDIA_PARTS.flatMap((p) => (p.deleteType ? [[p.deleteType, p.kind]] : [])),
);

/** The FileDeleted event, when the application switched it on. */
async function fileDeletedEvents(
  ctx: ActionContext,
  fileId: string,
  parts: { Type: string; Definition?: number }[],
): Promise<NewEvent[]> {
  const config = await ctx.deps.store.getEventConfig(ctx.app.subAppId);
  if (config.deleteSwitch !== "ON") return [];
  const payload = {
    FileIdSet: [fileId],
    FileDeleteResultInfo: [
      { FileId: fileId, DeleteParts: parts.map((p) => ({ Type: p.Type, Definition: p.Definition ?? 0 })) },
    ],
  };
  return [
    makeEvent(
      ctx.app.subAppId,
      config,
      { type: "FileDeleted", field: "FileDeleteEvent", payload },
      ctx.deps.now(),
    ),
  ];
}

const CATEGORIES = new Set(["Video", "Audio", "Image"]);

/** An ISO 8601 date, or date-time with a zone, as the API takes times (Date.parse alone accepts "12"). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2}))?$/i;

/** Milliseconds of an ISO 8601 time parameter; undefined when it is not one. */
export function isoParam(s: string): number | undefined {
  return ISO_TIME.test(s.trim()) ? parseIsoTime(s.trim()) : undefined;
}

/** An optional time-range bound: undefined when absent, InvalidParameterValue.<name> when bad. */
function timeParam(name: string, s: string | undefined): number | undefined {
  if (!s) return undefined;
  const ms = isoParam(s);
  if (ms === undefined) throw errors.invalidParameterValue(name, `${name} is not an ISO 8601 time range.`);
  return ms;
}
const SEARCH_MAX = 5000;

export const mediaActions: ActionFamily = {
  DescribeMediaInfos: {
    notes:
      "basicInfo, metaData, transcodeInfo, animatedGraphicsInfo, imageSpriteInfo, snapshotByTimeOffsetInfo, sampleSnapshotInfo, adaptiveDynamicStreamingInfo, reviewInfo (the latest ReviewAudioVideo verdicts); up to 20 FileIds; unknown ones in NotExistFileIdSet; other filters refused",
    async handler(ctx) {
      const { FileIds, Filters } = ctx.params as { FileIds: string[]; Filters?: string[] };
      if (FileIds.length === 0) throw errors.invalidParameterValue("FileIdsEmpty", "FileIds is empty.");
      // More than 20 FileIds: refused by the validator, with the cloud's FileIdsTooMany (the spec's cap).
      checkFilters(Filters);
      const found: MediaRow[] = [];
      const missing: string[] = [];
      for (const id of FileIds) {
        const m = await ctx.deps.store.getMedia(ctx.app.subAppId, id);
        if (m) found.push(m);
        else missing.push(id);
      }
      return { MediaInfoSet: await mediaInfos(ctx, found, Filters), NotExistFileIdSet: missing };
    },
  },

  SearchMedia: {
    notes:
      "FileIds, Names, NamePrefixes, Descriptions, Text, ClassIds, Tags, Categories, SourceTypes, MediaTypes, StorageRegions, StorageClasses, Status, CreateTime (StartTime/EndTime), ExpireTime; Sort; Offset/Limit",
    async handler(ctx) {
      const p = ctx.params;
      const offset = p.Offset ?? 0;
      const limit = p.Limit ?? 10;
      if (limit < 1 || limit > SEARCH_MAX)
        throw errors.invalidParameterValue("Limit", `Limit must be from 1 to ${SEARCH_MAX}.`);
      if (offset + limit > SEARCH_MAX)
        throw errors.invalidParameterValue("Offset", `Offset + Limit must not exceed ${SEARCH_MAX}.`);
      if (p.Sort && p.Sort.Field !== "CreateTime")
        throw errors.invalidParameterValue("Sort", "Sort.Field must be CreateTime.");
      if (p.Sort && p.Sort.Order !== "Asc" && p.Sort.Order !== "Desc") {
        throw errors.invalidParameterValue("Sort", "Sort.Order must be Asc or Desc.");
      }
      for (const c of p.Categories ?? []) {
        if (!CATEGORIES.has(c)) throw errors.invalidParameterValue("Categories", `Unknown category ${c}.`);
      }
      checkFilters(p.Filters);
      // StartTime/EndTime are the older spelling of CreateTime; CreateTime wins when both are given.
      const after = timeParam(
        p.CreateTime?.After ? "CreateTime" : "StartTime",
        p.CreateTime?.After || p.StartTime,
      );
      const before = timeParam(
        p.CreateTime?.Before ? "CreateTime" : "EndTime",
        p.CreateTime?.Before || p.EndTime,
      );
      const expireAfter = timeParam("ExpireTime", p.ExpireTime?.After);
      const expireBefore = timeParam("ExpireTime", p.ExpireTime?.Before);
      if (p.Text !== undefined && p.Text.length > 64)
        throw errors.invalidParameterValue("Text", "Text is longer than 64 characters.");
      // Sources openvod never produces (live recordings, TRTC, Vids) match nothing, truthfully.
      const impossible =
        (["StreamIds", "Vids", "TrtcSdkAppIds", "TrtcRoomIds", "StreamDomains", "StreamPaths"] as const).some(
          (k) => p[k]?.length,
        ) ||
        !!p.StreamId ||
        !!p.Vid ||
        // Every openvod media item is Normal and kept in STANDARD storage.
        (!!p.Status?.length && !p.Status.includes("Normal")) ||
        (!!p.StorageClasses?.length && !p.StorageClasses.includes("STANDARD"));
      if (impossible) return { TotalCount: 0, MediaInfoSet: [] };
      const { total, media } = await ctx.deps.store.searchMedia({
        appId: ctx.app.subAppId,
        fileIds: p.FileIds,
        names: p.Names,
        namePrefixes: p.NamePrefixes,
        descriptions: p.Descriptions,
        classIds: p.ClassIds,
        categories: p.Categories,
        sourceTypes: p.SourceTypes ?? (p.SourceType ? [p.SourceType] : undefined),
        mediaTypes: p.MediaTypes,
        storageRegions: p.StorageRegions,
        tags: p.Tags,
        text: p.Text || undefined,
        createAfter: after,
        createBefore: before,
        expireAfter: expireAfter === undefined ? undefined : isoTime(expireAfter),
        expireBefore: expireBefore === undefined ? undefined : isoTime(expireBefore),
        sortOrder: p.Sort?.Order === "Asc" ? "Asc" : "Desc",
        offset,
        limit,
      });
      return { TotalCount: total, MediaInfoSet: await mediaInfos(ctx, media, p.Filters) };
    },
  },

  ModifyMediaInfo: {
    notes:
      "Name, Description, ClassId, ExpireTime, CoverData, Add/Delete/ClearTags; key frames and subtitles refused",
    async handler(ctx) {
      const p = ctx.params;
      const m = await mediaOf(ctx, p.FileId);
      for (const k of [
        "AddKeyFrameDescs",
        "DeleteKeyFrameDescs",
        "ClearKeyFrameDescs",
        "AddSubtitles",
        "DeleteSubtitleIds",
        "ClearSubtitles",
        "DeleteKnowledgeBases",
        "ClearKnowledgeBases",
      ] as const) {
        if (p[k] !== undefined) throw errors.unsupportedOperation(`${k} is not supported by openvod yet.`);
      }
      if (p.Name !== undefined && p.Name.length > 64)
        throw errors.invalidParameterValue("Name", "Name is longer than 64 characters.");
      if (p.Description !== undefined && p.Description.length > 128) {
        throw errors.invalidParameterValue("Description", "Description is longer than 128 characters.");
      }
      const expireMs = p.ExpireTime !== undefined ? isoParam(p.ExpireTime) : undefined;
      if (p.ExpireTime !== undefined && expireMs === undefined) {
        throw errors.invalidParameterValue("ExpireTime", "ExpireTime is not an ISO 8601 time.");
      }
      const retag = (current: string[]): string[] | undefined => {
        if (p.ClearTags !== 1 && !p.DeleteTags && !p.AddTags) return undefined;
        let tags = current;
        if (p.ClearTags === 1) tags = [];
        const gone = p.DeleteTags;
        if (gone) tags = tags.filter((t) => !gone.includes(t));
        if (p.AddTags) tags = [...new Set([...tags, ...p.AddTags])];
        if (tags.length > 16)
          throw errors.limitExceeded("TagCountReachMax", "A media item has at most 16 tags.");
        return tags;
      };
      retag(m.tags); // refuses too many tags before any cover work
      let coverKey: string | undefined;
      if (p.CoverData !== undefined) coverKey = await storeCover(ctx, m, p.CoverData);
      // Checking a cover takes a while: re-read the item so changes made meanwhile (tags,
      // another cover, a deletion) are built on, not overwritten.
      const cur = await ctx.deps.store.getMedia(ctx.app.subAppId, m.fileId);
      if (!cur) {
        // Deleted meanwhile: take the new cover (and the directory it recreated) away with it.
        if (coverKey) await ctx.deps.blobs.remove(blobKey(m.appId, m.fileId) + "/");
        throw errors.resourceNotFound("FileNotExist", `The file ${m.fileId} does not exist.`);
      }
      let tags: string[] | undefined;
      try {
        tags = retag(cur.tags);
      } catch (err) {
        if (coverKey) await ctx.deps.blobs.remove(coverKey);
        throw err;
      }
      await ctx.deps.store.updateMedia(ctx.app.subAppId, m.fileId, {
        name: p.Name,
        description: p.Description,
        classId: p.ClassId,
        // Stored as the cloud prints times (UTC, whole seconds), whatever offset was sent.
        expireTime: expireMs === undefined ? undefined : isoTime(expireMs),
        tags,
        coverKey,
        updateTime: ctx.deps.now(),
      });
      // The replaced cover goes only once nothing points at it any more.
      if (coverKey && cur.coverKey && cur.coverKey !== coverKey) await ctx.deps.blobs.remove(cur.coverKey);
      return { CoverUrl: coverKey ? ctx.deps.urls.file(coverKey) : "", AddedSubtitleSet: [] };
    },
  },

  DeleteMedia: {
    notes:
      "The whole item and its files (its unfinished tasks end ABORTED), or DeleteParts OriginalFiles / TranscodeFiles / AdaptiveDynamicStreamingFiles (by Definition, 0 = all); FileDeleted event when switched on",
    async handler(ctx) {
      const { FileId, DeleteParts = [] } = ctx.params as {
        FileId: string;
        DeleteParts?: { Type: string; Definition?: number }[];
      };
      const { store, blobs } = ctx.deps;
      const appId = ctx.app.subAppId;
      const m = await mediaOf(ctx, FileId);
      for (const part of DeleteParts) {
        if (!DELETE_PART_TYPES.has(part.Type))
          throw errors.invalidParameterValue("Type", `Unknown DeleteParts type ${part.Type}.`);
      }
      const events = await fileDeletedEvents(ctx, FileId, DeleteParts);
      if (DeleteParts.length === 0) {
        // Its unfinished tasks are aborted with it: none may publish into the deleted item (a
        // PROCESSING one is stopped by its worker, which removes what it stored meanwhile).
        // Deleting parts only (below) leaves running tasks alone: their outputs are new parts.
        const now = ctx.deps.now();
        await store.deleteMedia(appId, FileId, events, { now, reason: TASK_ABORTED.mediaDeleted });
        await blobs.remove(blobKey(appId, FileId) + "/");
        if (events.length) ctx.deps.events.notify(appId, events);
        return {};
      }
      for (const part of DeleteParts) {
        const kind = PART_OF_DELETE_TYPE[part.Type];
        if (kind) {
          for (const gone of await store.deleteMediaParts(appId, FileId, kind, part.Definition ?? 0)) {
            for (const key of gone.blobs) await blobs.remove(key);
          }
        } else if (part.Type === "OriginalFiles" && m.blobKey) {
          // The item stays (cover, metadata, outputs) but no longer points at the file that is gone.
          await store.updateMedia(appId, FileId, { blobKey: "", updateTime: ctx.deps.now() });
          await blobs.remove(m.blobKey);
        }
      }
      if (events.length) {
        await store.insertEvents(events);
        ctx.deps.events.notify(appId, events);
      }
      return {};
    },
  },

  DescribeFileAttributes: {
    notes: "A real task: streamed MD5 and SHA-1 of the original; Md5 then shows in MetaData",
    async handler(ctx) {
      const p = ctx.params;
      const m = await ctx.deps.store.getMedia(ctx.app.subAppId, p.FileId);
      if (!m) throw errors.invalidParameterValue("FileId", `The file ${p.FileId} does not exist.`);
      const TaskId = await submitTask(ctx.deps, {
        appId: ctx.app.subAppId,
        taskType: "DescribeFileAttributesTask",
        fileId: m.fileId,
        priority: p.TasksPriority,
        sessionId: p.SessionId,
        sessionContext: p.SessionContext,
        input: { FileId: m.fileId },
      });
      return { TaskId };
    },
  },
};

const COVER_MAX_BYTES = 10 * 1024 * 1024;

/** Decodes, checks (it must really be an image) and stores a new cover; returns its key. */
async function storeCover(ctx: ActionContext, m: MediaRow, data: string): Promise<string> {
  const bytes = Buffer.from(data, "base64");
  if (bytes.length === 0 || bytes.length > COVER_MAX_BYTES) {
    throw errors.invalidParameterValue("CoverData", "CoverData must be a base64 image of at most 10 MB.");
  }
  const dir = await mkdtemp(join(ctx.deps.config.dataDir, "tmp", "cover-"));
  try {
    const file = join(dir, "cover");
    await writeFile(file, bytes);
    const probed = await probeMedia(ctx.deps.tools, file, 15_000).catch((err) => {
      if (err instanceof NotMediaError) return undefined;
      throw err;
    });
    if (!probed || probed.category !== "Image")
      throw errors.invalidParameterValue("CoverData", "CoverData is not an image.");
    const ext = probed.formatName.replace(/[^a-z0-9]/g, "") || "jpg";
    // Unique per upload, so a concurrent upload or the replaced cover never shares its name.
    const key = blobKey(m.appId, m.fileId, `cover-${Date.now()}-${randomBytes(4).toString("hex")}.${ext}`);
    await ctx.deps.blobs.putFile(key, file);
    return key;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
