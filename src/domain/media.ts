// How a stored media item looks to clients: MediaBasicInfo and MediaInfo, per the spec.
import type { Urls } from "./deps.js";
import { isoTime } from "./ids.js";
import type { MediaRow } from "../store/types.js";

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

/** DescribeMediaInfos filter names and the MediaInfo parts openvod can fill for real. */
export const MEDIA_INFO_FILTERS = {
  basicInfo: "BasicInfo",
  metaData: "MetaData",
} as const;

export function mediaInfo(m: MediaRow, urls: Urls, filters: string[] | undefined): Record<string, unknown> {
  const want = (f: keyof typeof MEDIA_INFO_FILTERS) => !filters?.length || filters.includes(f);
  return {
    FileId: m.fileId,
    BasicInfo: want("basicInfo") ? mediaBasicInfo(m, urls) : null,
    MetaData: want("metaData") ? m.metaData : null,
  };
}
