// Database row -> store row, for both dialects. The columns are the same; what differs is how a
// document arrives (SQLite: JSON text; PostgreSQL: parsed by pg), so each mapper takes the
// dialect's decoder. Booleans are 0/1 in SQLite and true/false in PostgreSQL.
import type {
  AppRow,
  EventConfig,
  EventRow,
  MediaPart,
  MediaRow,
  MultipartRow,
  SegmentRow,
  TaskRow,
  TemplateRow,
  UploadPartRow,
  UploadSessionRow,
} from "./types.js";
import type { Raw } from "./sql.js";

/** How a document column reads: JSON.parse for SQLite, as it is for PostgreSQL. */
export type Decode = (v: unknown) => any;
export const parseJson: Decode = (v) => JSON.parse(v as string);
export const parsed: Decode = (v) => v;

export function taskFromRow(r: Raw, doc: Decode): TaskRow {
  return {
    taskId: r.task_id,
    appId: r.app_id,
    taskType: r.task_type,
    status: r.status,
    priority: r.priority,
    fileId: r.file_id,
    sessionId: r.session_id,
    sessionContext: r.session_context,
    input: doc(r.input),
    state: doc(r.state),
    errCode: r.err_code,
    errCodeExt: r.err_code_ext,
    message: r.message,
    createTime: r.create_time,
    beginTime: r.begin_time ?? null,
    finishTime: r.finish_time ?? null,
    attempts: r.attempts,
    leaseOwner: r.lease_owner ?? null,
    leaseUntil: r.lease_until ?? null,
    abortRequest: r.abort_request ?? null,
  };
}

export function mediaFromRow(r: Raw, doc: Decode): MediaRow {
  return {
    fileId: r.file_id,
    appId: r.app_id,
    name: r.name,
    description: r.description,
    classId: r.class_id,
    type: r.type,
    category: r.category,
    blobKey: r.blob_key,
    coverKey: r.cover_key,
    metaData: doc(r.meta_data),
    sourceType: r.source_type,
    sourceContext: r.source_context,
    storageRegion: r.storage_region,
    expireTime: r.expire_time,
    tags: doc(r.tags),
    createTime: r.create_time,
    updateTime: r.update_time,
  };
}

export function eventFromRow(r: Raw, doc: Decode): EventRow {
  return {
    seq: r.seq,
    appId: r.app_id,
    eventType: r.event_type,
    content: doc(r.content),
    delivery: r.delivery,
    createTime: r.create_time,
    handle: r.handle,
    attempts: r.attempts,
    availableAt: r.available_at,
  };
}

export function eventConfigFromRow(r: Raw): EventConfig {
  return {
    mode: r.mode,
    notificationUrl: r.notification_url,
    signKey: r.sign_key,
    uploadSwitch: r.upload_switch,
    deleteSwitch: r.delete_switch,
    persistenceSwitch: r.persistence_switch,
  };
}

export function partFromRow(r: Raw, doc: Decode): MediaPart {
  return {
    appId: r.app_id,
    fileId: r.file_id,
    kind: r.kind,
    definition: r.definition,
    item: doc(r.item),
    blobs: doc(r.blobs),
    createTime: r.create_time,
  };
}

export function templateFromRow(r: Raw, doc: Decode): TemplateRow {
  return {
    appId: r.app_id,
    family: r.family,
    key: r.key,
    body: doc(r.body),
    createTime: r.create_time,
    updateTime: r.update_time,
  };
}

export function appFromRow(r: Raw): AppRow {
  return {
    subAppId: r.sub_app_id,
    name: r.name,
    description: r.description,
    status: r.status,
    createTime: r.create_time,
    isDefault: r.is_default === true || r.is_default === 1,
  };
}

export function uploadSessionFromRow(r: Raw, doc: Decode): UploadSessionRow {
  return {
    id: r.id,
    sessionKey: r.session_key,
    appId: r.app_id,
    secretId: r.secret_id,
    secretKey: r.secret_key,
    token: r.token,
    mediaKey: r.media_key,
    coverKey: r.cover_key,
    params: doc(r.params),
    media: r.media ? doc(r.media) : null,
    cover: r.cover ? doc(r.cover) : null,
    status: r.status,
    fileId: r.file_id,
    commitTime: r.commit_time ?? null,
    createTime: r.create_time,
    expireTime: r.expire_time,
  };
}

export function multipartFromRow(r: Raw): MultipartRow {
  return {
    uploadId: r.upload_id,
    sessionId: r.session_id,
    target: r.target,
    contentType: r.content_type,
    createTime: r.create_time,
  };
}

export function uploadPartFromRow(r: Raw): UploadPartRow {
  return {
    uploadId: r.upload_id,
    partNumber: r.part_number,
    file: r.file,
    size: r.size,
    etag: r.etag,
    lastModified: r.last_modified,
  };
}

export function segmentFromRow(r: Raw, doc: Decode): SegmentRow {
  return {
    seq: r.seq,
    taskId: r.task_id,
    appId: r.app_id,
    job: r.job,
    idx: r.idx,
    priority: r.priority,
    input: doc(r.input),
    createTime: r.create_time,
    status: r.status,
    result: doc(r.result),
    progress: r.progress,
    attempts: r.attempts,
    leaseOwner: r.lease_owner ?? null,
    leaseUntil: r.lease_until ?? null,
  };
}
