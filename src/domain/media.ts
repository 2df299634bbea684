// How a stored media item looks to clients: MediaBasicInfo and MediaInfo, per the spec.
import type { Urls } from "./deps.js";
import { isoTime, NEVER_EXPIRES } from "./ids.js";
import type { MediaPart, MediaRow } from "../store/types.js";
import { withUrls } from "./blobrefs.js";
import { MEDIA_PARTS } from "./subtasks/index.js";

/** What an ingest (PullUpload, CommitUpload) knows of a new media item; the rest has defaults. */
export interface IngestedMedia {
  fileId: string;
  appId: number;
  name: string;
  type: string;
  category: string;
  blobKey: string;
  coverKey: string;
  metaData: Record<string, unknown>;
  storageRegion: string;
  classId?: number;
  sourceContext?: string;
  expireTime?: string;
  /** MediaSourceData.SourceType: Upload unless given (VideoProcessing for edit outputs). */
  sourceType?: string;
}

/** A new media item as uploads create it: SourceType Upload, no tags, never expiring by default. */
export function ingestedMedia(m: IngestedMedia, now: number): MediaRow {
  return {
    ...m,
    description: "",
    classId: m.classId ?? 0,
    sourceType: m.sourceType ?? "Upload",
    sourceContext: m.sourceContext ?? "",
    expireTime: m.expireTime || NEVER_EXPIRES,
    tags: [],
    createTime: now,
    updateTime: now,
  };
}

/** A new item as the tasks that make one report it (EditMediaTaskOutput and its siblings). */
export function mediaOutput(m: MediaRow, urls: Urls) {
  return {
    FileType: m.type,
    FileUrl: urls.file(m.blobKey),
    FileId: m.fileId,
    MediaName: m.name,
    ClassId: m.classId,
    ExpireTime: m.expireTime,
  };
}

/** ClassId 0 is the cloud's built-in "Other" category, the default for new media. */
const DEFAULT_CLASS = { name: "其他", path: "其他" };

export function mediaBasicInfo(m: MediaRow, urls: Urls): Record<string, unknown> {
  return {
    Name: m.name,
    Description: m.description,
    CreateTime: isoTime(m.createTime),
    UpdateTime: isoTime(m.updateTime),
    ExpireTime: m.expireTime,
    ClassId: m.classId,
    ClassName: m.classId === 0 ? DEFAULT_CLASS.name : "",
    ClassPath: m.classId === 0 ? DEFAULT_CLASS.path : "",
    CoverUrl: urls.file(m.coverKey),
    Type: m.type,
    MediaUrl: urls.file(m.blobKey),
    SourceInfo: {
      SourceType: m.sourceType,
      SourceContext: m.sourceContext,
      LiveRecordInfo: null,
      TrtcRecordInfo: null,
      WebPageRecordInfo: null,
    },
    StorageRegion: m.storageRegion,
    StoragePath: m.blobKey ? "/" + m.blobKey : "",
    TagSet: m.tags,
    Vid: "",
    Category: m.category,
    Status: "Normal",
    StorageClass: "STANDARD",
  };
}

/**
 * The review verdicts kept with an item (MediaInfo.ReviewInfo), as parts of these kinds with
 * Definition 0: each ReviewAudioVideo replaces the previous verdict of what it reviewed.
 */
export const REVIEW_PARTS = { MediaReviewInfo: "MediaReview", CoverReviewInfo: "CoverReview" } as const;

/** DescribeMediaInfos/SearchMedia filter names openvod can fill for real. */
export const MEDIA_INFO_FILTERS: ReadonlySet<string> = new Set([
  "basicInfo",
  "metaData",
  "reviewInfo",
  ...MEDIA_PARTS.map((p) => p.filter),
]);

/** The parts a filter list asks for (all when there is no filter). */
export function wantsParts(filters: string[] | undefined): boolean {
  return (
    !filters?.length || filters.includes("reviewInfo") || MEDIA_PARTS.some((p) => filters.includes(p.filter))
  );
}

/** The original file as the cloud lists it in TranscodeSet: Definition 0. */
function originalItem(m: MediaRow, urls: Urls): Record<string, unknown> {
  const meta = m.metaData as Record<string, any>;
  return {
    Url: urls.file(m.blobKey),
    Definition: 0,
    Bitrate: meta.Bitrate,
    Height: meta.Height,
    Width: meta.Width,
    Size: meta.Size,
    Duration: meta.Duration,
    Md5: meta.Md5,
    Container: meta.Container,
    VideoStreamSet: meta.VideoStreamSet,
    AudioStreamSet: meta.AudioStreamSet,
    DigitalWatermarkType: "None",
    CopyRightWatermarkText: "",
  };
}

export function mediaInfo(
  m: MediaRow,
  urls: Urls,
  filters: string[] | undefined,
  parts: MediaPart[] = [],
): Record<string, unknown> {
  const want = (f: string) => !filters?.length || filters.includes(f);
  const info: Record<string, unknown> = {
    FileId: m.fileId,
    BasicInfo: want("basicInfo") ? mediaBasicInfo(m, urls) : null,
    MetaData: want("metaData") ? m.metaData : null,
  };
  for (const p of MEDIA_PARTS) {
    if (!want(p.filter)) continue;
    const items = parts.filter((x) => x.kind === p.kind).map((x) => withUrls(x.item, urls));
    if (p.kind === "Transcode" && m.blobKey) items.unshift(originalItem(m, urls));
    info[p.info] = items.length ? { [p.list]: items } : null;
  }
  if (want("reviewInfo")) {
    const review = Object.fromEntries(
      Object.entries(REVIEW_PARTS).map(([field, kind]) => [
        field,
        parts.find((x) => x.kind === kind)?.item ?? null,
      ]),
    );
    info.ReviewInfo = review.MediaReviewInfo || review.CoverReviewInfo ? review : null;
  }
  return info;
}
