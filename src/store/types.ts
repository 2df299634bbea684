// The store interface: everything openvod persists goes through it, and nothing outside
// src/store writes SQL. Two implementations with the same behaviour (test/store.test.ts runs
// one suite on both): SQLite (src/store/sqlite.ts, embedded, one process) and PostgreSQL
// (src/store/postgres.ts, cluster mode: many API and worker processes on one database).

export type TaskStatus = "WAITING" | "PROCESSING" | "FINISH" | "ABORTED";

export interface TaskRow {
  taskId: string;
  appId: number;
  /** The DescribeTaskDetail TaskType, e.g. "PullUpload", "DescribeFileAttributesTask". */
  taskType: string;
  status: TaskStatus;
  priority: number;
  fileId: string;
  sessionId: string;
  sessionContext: string;
  /** The validated request parameters the task runs with. */
  input: Record<string, unknown>;
  /** Type-specific progress and results, shaped into the task view by the domain mappers. */
  state: Record<string, unknown>;
  errCode: number;
  errCodeExt: string;
  message: string;
  createTime: number;
  beginTime: number | null;
  finishTime: number | null;
  attempts: number;
  leaseOwner: string | null;
  leaseUntil: number | null;
  /** Set (to the reason) when ManageTask or DeleteMedia asked for a PROCESSING task to stop. */
  abortRequest: string | null;
}

export type NewTask = Pick<
  TaskRow,
  | "taskId"
  | "appId"
  | "taskType"
  | "priority"
  | "fileId"
  | "sessionId"
  | "sessionContext"
  | "input"
  | "state"
  | "createTime"
>;

export interface TaskListFilter {
  appId: number;
  status?: string;
  fileId?: string;
  createAfter?: number;
  createBefore?: number;
  finishAfter?: number;
  finishBefore?: number;
  sortField: "CreateTime" | "FinishTime";
  order: "Asc" | "Desc";
  /** Start at this task (inclusive): the ScrollToken of the previous page. */
  fromTaskId?: string;
  /** Tasks created before this are past retention and never listed. */
  notBefore: number;
  limit: number;
}

export interface MediaRow {
  fileId: string;
  appId: number;
  name: string;
  description: string;
  classId: number;
  /** File type as MediaBasicInfo.Type reports it, e.g. "mp4". */
  type: string;
  category: string;
  /** Blob key of the original file. */
  blobKey: string;
  /** Blob key of the cover image, "" when none. */
  coverKey: string;
  metaData: Record<string, unknown>;
  sourceType: string;
  sourceContext: string;
  storageRegion: string;
  expireTime: string;
  tags: string[];
  createTime: number;
  updateTime: number;
}

export interface MediaSearch {
  appId: number;
  fileIds?: string[];
  names?: string[];
  namePrefixes?: string[];
  descriptions?: string[];
  classIds?: number[];
  categories?: string[];
  sourceTypes?: string[];
  mediaTypes?: string[];
  storageRegions?: string[];
  tags?: string[];
  /** Found inside the name or the description. */
  text?: string;
  createAfter?: number;
  createBefore?: number;
  /** Bounds on expire_time, as normalized ISO times (which sort as text). */
  expireAfter?: string;
  expireBefore?: string;
  sortOrder: "Asc" | "Desc";
  offset: number;
  limit: number;
}

export interface AppRow {
  subAppId: number;
  name: string;
  description: string;
  status: "On" | "Off";
  createTime: number;
  isDefault: boolean;
}

export type EventDelivery = "PULL" | "PUSH";

export interface EventConfig {
  mode: EventDelivery;
  notificationUrl: string;
  signKey: string;
  uploadSwitch: "ON" | "OFF";
  deleteSwitch: "ON" | "OFF";
  persistenceSwitch: "ON" | "OFF";
}

export const DEFAULT_EVENT_CONFIG: EventConfig = {
  mode: "PULL",
  notificationUrl: "",
  signKey: "",
  uploadSwitch: "OFF",
  deleteSwitch: "OFF",
  persistenceSwitch: "OFF",
};

export interface NewEvent {
  appId: number;
  eventType: string;
  /** The EventContent without EventHandle, shaped against the spec. */
  content: Record<string, unknown>;
  /** Fixed when the event is created, from the application's mode at that moment. */
  delivery: EventDelivery;
  createTime: number;
}

export interface EventRow extends NewEvent {
  seq: number;
  /** PULL: the handle of the latest pull. */
  handle: string;
  attempts: number;
  /** PULL: when it may be pulled again; PUSH: when the next attempt is due. */
  availableAt: number;
}

/** A custom template of one family (presets live in code, see src/domain/templates). */
export interface TemplateRow {
  appId: number;
  /** e.g. "Transcode", "SnapshotByTimeOffset", "Procedure". */
  family: string;
  /** The Definition, or the Name for procedure templates. */
  key: string;
  /** The template as its Describe action shows it, without Type and times. */
  body: Record<string, unknown>;
  createTime: number;
  updateTime: number;
}

/** A keyword of an application's word samples (CreateWordSamples). */
export interface WordSampleRow {
  appId: number;
  keyword: string;
  /** Recognition.Ocr, Recognition.Asr, Review.Ocr, Review.Asr (shorthands expanded). */
  usages: string[];
  tags: string[];
  createTime: number;
  updateTime: number;
}

/** One face picture of a person sample: its picture in the blob store, its face-api descriptor. */
export interface PersonFace {
  faceId: string;
  /** Blob key of the picture as sent (JPEG or PNG). */
  key: string;
  /** 128 numbers (face-api's ResNet-34 descriptor of the one face in the picture). */
  descriptor: number[];
}

/** A person of an application's person samples (CreatePersonSample). */
export interface PersonSampleRow {
  appId: number;
  personId: string;
  name: string;
  description: string;
  /** Recognition.Face, Review.Face (shorthands expanded). */
  usages: string[];
  tags: string[];
  faces: PersonFace[];
  createTime: number;
  updateTime: number;
}

/** One output of media processing kept with a media item (a transcode, a set of snapshots...). */
export interface MediaPart {
  appId: number;
  fileId: string;
  /** "Transcode", "SnapshotByTimeOffset", "SampleSnapshot", "ImageSprite", "AnimatedGraphics", "AdaptiveDynamicStreaming". */
  kind: string;
  definition: number;
  /** The spec item (e.g. MediaTranscodeItem) with blob keys where clients see URLs. */
  item: Record<string, unknown>;
  /** Blob keys (files or `prefix/` directories) to remove with the part. */
  blobs: string[];
  createTime: number;
}

/** What the COS endpoint keeps of an uploaded object (the file lives in the session's directory). */
export interface UploadObject {
  /** The file's name inside the session directory. */
  file: string;
  size: number;
  /** The object's ETag as COS gives it, without quotes: MD5 hex, or `<hex>-<parts>` after a multipart upload. */
  etag: string;
  contentType: string;
  lastModified: number;
}

export type UploadSessionStatus = "OPEN" | "COMMITTING" | "COMMITTED";

/** An ApplyUpload session: its temporary credentials, its two object keys and what the commit needs. */
export interface UploadSessionRow {
  /** Random hex; names the session's directory under <data>/uploads. */
  id: string;
  /** The VodSessionKey (a bearer secret: never logged, never used as a path). */
  sessionKey: string;
  appId: number;
  secretId: string;
  secretKey: string;
  token: string;
  /** Object keys without a leading "/"; coverKey is "" when ApplyUpload named no CoverType. */
  mediaKey: string;
  coverKey: string;
  /** The ApplyUpload parameters CommitUpload uses (MediaType, MediaName, Procedure, ClassId...). */
  params: Record<string, unknown>;
  media: UploadObject | null;
  cover: UploadObject | null;
  status: UploadSessionStatus;
  /** Set when a commit is claimed, and kept: a retried commit reuses it. */
  fileId: string;
  /** When the current commit was claimed (a claim older than the stale limit may be taken over). */
  commitTime: number | null;
  createTime: number;
  /** The credentials and the session end here; the sweep removes the session after it. */
  expireTime: number;
}

/** A multipart upload in progress on one of a session's keys. */
export interface MultipartRow {
  uploadId: string;
  sessionId: string;
  /** Which of the session's objects it builds. */
  target: "media" | "cover";
  contentType: string;
  createTime: number;
}

export interface UploadPartRow {
  uploadId: string;
  partNumber: number;
  /** The part's file name inside the session directory. */
  file: string;
  size: number;
  /** MD5 hex of the part. */
  etag: string;
  lastModified: number;
}

/** What finishing a task changes besides the task row, committed in the same transaction. */
export interface TaskEffects {
  /** Events the finished task emits; written with it so none is lost or emitted for nothing. */
  events?: NewEvent[];
  /**
   * New media items (PullUpload's one, an edit's or split's outputs). The task is listed under
   * the first (DescribeTasks FileId filter).
   */
  insertMedia?: MediaRow[];
  /** Tasks the finished one starts (e.g. the Procedure a PullUpload names). */
  insertTasks?: NewTask[];
  /** Outputs kept with their media item, replacing earlier parts of the same kind and definition. */
  putParts?: MediaPart[];
  /** A new cover for a media item (CoverBySnapshot). */
  setCover?: { appId: number; fileId: string; coverKey: string };
  /** Shallow-merged into the media's MetaData (e.g. Md5 after DescribeFileAttributes). */
  mergeMetaData?: { appId: number; fileId: string; patch: Record<string, unknown> };
}

export type LeaseState = "held" | "lost" | "abort";

export type SegmentStatus = "WAITING" | "PROCESSING" | "DONE" | "FAILED";

/** A work item of a segmented sub-task (src/workers/segments.ts), made by its parent task. */
export interface NewSegment {
  /** The parent task: the item is claimable only while it is PROCESSING with no abort requested. */
  taskId: string;
  appId: number;
  /** Which split of the parent it belongs to (e.g. "sub-0"). */
  job: string;
  idx: number;
  priority: number;
  /** What the worker that claims it needs to run it. */
  input: Record<string, unknown>;
  createTime: number;
}

export interface SegmentRow extends NewSegment {
  seq: number;
  status: SegmentStatus;
  /** What the run produced (DONE: blob key and size; FAILED: the error). */
  result: Record<string, unknown>;
  /** 0-100, saved with each lease renewal. */
  progress: number;
  attempts: number;
  leaseOwner: string | null;
  leaseUntil: number | null;
}

/** How an aborted task reads: its ErrCode, ErrCodeExt and Message. */
export type TaskEnd = Pick<TaskFinish, "errCode" | "errCodeExt" | "message">;

export interface TaskFinish {
  /** FINISH unless given; ABORTED ends a task whose abort was requested, with no effects but events. */
  status?: "FINISH" | "ABORTED";
  errCode: number;
  errCodeExt: string;
  message: string;
  state: Record<string, unknown>;
  finishTime: number;
}

/** A use of a signature that at most `max` users may use (see Store.useSignature). */
export interface SignatureUse {
  /** The signature's namespace, e.g. "upload.oneTime", "url.rlimit". */
  kind: string;
  sign: string;
  /** Who uses it: an upload session key, a client IP. */
  user: string;
  max: number;
  /** When the signature expires (ms): its uses are kept until then. */
  expireTime: number;
}

export interface Store {
  close(): Promise<void>;

  /**
   * Cluster mode: onTask() whenever any process makes a task runnable (inserted, or released
   * by an orderly stop), onEvents(appId) whenever any process writes events of that
   * application, so idle workers and long-polling PullEvents in every process wake at once.
   * Wake-ups are hints (one may be lost while a connection is re-established): callers still
   * poll on a timer. Absent in embedded mode, where one process makes every change itself.
   */
  subscribe?(onTask: () => void, onEvents: (appId: number) => void): Promise<void>;

  // Applications.
  ensureDefaultApp(appId: number, now: number): Promise<void>;
  getApp(subAppId: number): Promise<AppRow | undefined>;
  listApps(offset: number, limit: number): Promise<{ total: number; apps: AppRow[] }>;
  /** False when the SubAppId is taken (a concurrent CreateSubAppId, perhaps in another process, won). */
  createApp(app: AppRow): Promise<boolean>;
  updateApp(
    subAppId: number,
    patch: Partial<Pick<AppRow, "name" | "description" | "status">>,
  ): Promise<boolean>;
  nextAppId(floor: number): Promise<number>;

  // Tasks.
  insertTask(task: NewTask): Promise<void>;
  getTask(appId: number, taskId: string): Promise<TaskRow | undefined>;
  findTaskBySession(appId: number, sessionId: string, since: number): Promise<TaskRow | undefined>;
  listTasks(filter: TaskListFilter): Promise<TaskRow[]>;
  /** Atomically takes the next runnable task (WAITING, or PROCESSING with an expired lease). */
  claimTask(owner: string, now: number, leaseMs: number): Promise<TaskRow | undefined>;
  /**
   * Extends the lease and saves progress (with the events it causes). "lost" when the task is
   * no longer ours; "abort" when it still is but an abort was requested (the worker stops it).
   */
  heartbeat(
    taskId: string,
    owner: string,
    leaseUntil: number,
    state?: Record<string, unknown>,
    events?: NewEvent[],
  ): Promise<LeaseState>;
  /**
   * Ends a task with its effects in one transaction, only while we still hold it ("lost"
   * otherwise). A FINISH changes nothing and answers "abort" when an abort was requested
   * meanwhile, or "mediaGone" when its effects name a media item that no longer exists: the
   * caller then ends the task ABORTED instead, and its outputs are never published.
   */
  finishTask(
    taskId: string,
    owner: string,
    finish: TaskFinish,
    effects?: TaskEffects,
  ): Promise<"finished" | "lost" | "abort" | "mediaGone">;
  /**
   * Hands a task we hold back to the queue (an orderly shutdown stopped it): runnable at once,
   * progress saved, and the attempt not counted, since the task did not fail. False if not ours.
   */
  releaseTask(taskId: string, owner: string, state: Record<string, unknown>): Promise<boolean>;
  /**
   * ManageTask Abort: a WAITING task ends ABORTED at once ("aborted"); a PROCESSING one gets the
   * request recorded ("requested"), which its worker sees at its next heartbeat; "ended" when
   * the task is already FINISH or ABORTED.
   */
  abortTask(
    appId: number,
    taskId: string,
    now: number,
    reason: TaskEnd,
  ): Promise<"aborted" | "requested" | "ended" | "notFound">;
  /**
   * Called once at start. Embedded mode (SQLite) owns its database: leases (of tasks and of
   * callbacks) left by a killed process are void at once, and the count of re-queued tasks is
   * returned. PostgreSQL changes nothing and returns 0: other processes share the database and
   * may hold those leases right now; a dead process's leases simply run out (OPENVOD_LEASE_MS).
   */
  releaseAllLeases(): Promise<number>;
  purgeTasks(createdBefore: number, limit: number): Promise<number>;
  countRunnable(): Promise<number>;

  // Segments: the work items of segmented sub-tasks, claimed like tasks (same leases).
  /** Inserts the items that do not exist yet ((taskId, job, idx) is unique); wakes workers. */
  insertSegments(rows: NewSegment[]): Promise<void>;
  listSegments(taskId: string, job: string): Promise<SegmentRow[]>;
  /** Atomically takes the next runnable item (WAITING, or PROCESSING with an expired lease) of a running parent. */
  claimSegment(owner: string, now: number, leaseMs: number): Promise<SegmentRow | undefined>;
  /** Extends the lease and saves progress; "abort" when the parent is no longer running or asked to stop. */
  segmentHeartbeat(seq: number, owner: string, leaseUntil: number, progress: number): Promise<LeaseState>;
  /** Ends an item we hold (false if not ours any more). */
  finishSegment(
    seq: number,
    owner: string,
    status: "DONE" | "FAILED",
    result: Record<string, unknown>,
  ): Promise<boolean>;
  /** Hands an item we hold back (orderly shutdown): runnable at once, the attempt not counted. */
  releaseSegment(seq: number, owner: string): Promise<boolean>;
  deleteSegments(taskId: string, job: string): Promise<number>;

  // Media.
  getMedia(appId: number, fileId: string): Promise<MediaRow | undefined>;
  updateMedia(
    appId: number,
    fileId: string,
    patch: Partial<
      Pick<
        MediaRow,
        "name" | "description" | "classId" | "expireTime" | "tags" | "coverKey" | "blobKey" | "updateTime"
      >
    >,
  ): Promise<boolean>;
  /**
   * Deletes the media row, writing `events` in the same transaction; with `abort`, the item's
   * WAITING and PROCESSING tasks are aborted in it too (as abortTask does).
   */
  deleteMedia(
    appId: number,
    fileId: string,
    events?: NewEvent[],
    abort?: { now: number; reason: TaskEnd },
  ): Promise<MediaRow | undefined>;
  searchMedia(q: MediaSearch): Promise<{ total: number; media: MediaRow[] }>;

  // Media parts.
  getMediaParts(appId: number, fileId: string): Promise<MediaPart[]>;
  /** Removes parts of a kind (all definitions when definition is 0) and returns them. */
  deleteMediaParts(appId: number, fileId: string, kind: string, definition: number): Promise<MediaPart[]>;

  // Upload sessions (ApplyUpload, the COS endpoint, CommitUpload).
  insertUploadSession(s: UploadSessionRow): Promise<void>;
  getUploadSession(sessionKey: string): Promise<UploadSessionRow | undefined>;
  getUploadSessionBySecretId(secretId: string): Promise<UploadSessionRow | undefined>;
  /**
   * Records (or with null, forgets) the object of one of the session's keys, only while the
   * session is OPEN. Returns the object it replaced (its file is the caller's to remove), or
   * undefined when the session is not OPEN (then the caller removes its own file).
   */
  setUploadObject(
    sessionId: string,
    target: "media" | "cover",
    obj: UploadObject | null,
  ): Promise<{ replaced: UploadObject | null } | undefined>;
  /**
   * Takes the session for a commit: OPEN, or COMMITTING since before `staleBefore` (a commit cut
   * short by a crash). Sets COMMITTING, commitTime = now and fileId (kept if already set). Returns
   * the claimed row, or undefined when it is not claimable.
   */
  claimUploadCommit(
    sessionId: string,
    fileId: string,
    now: number,
    staleBefore: number,
  ): Promise<UploadSessionRow | undefined>;
  /** Gives a claimed session back (OPEN), forgetting the objects named in `clear`. */
  releaseUploadCommit(sessionId: string, clear: ("media" | "cover")[]): Promise<void>;
  /**
   * Ends a claimed commit in one transaction: inserts the media item, the tasks it starts and the
   * events it emits, and marks the session COMMITTED. False when the session was not COMMITTING.
   */
  finishUploadCommit(
    sessionId: string,
    media: MediaRow,
    tasks: NewTask[],
    events: NewEvent[],
  ): Promise<boolean>;
  /** Deletes up to `limit` sessions that expired before `now` (with their multipart uploads); returns their ids. */
  deleteExpiredUploadSessions(now: number, limit: number): Promise<string[]>;
  insertMultipart(m: MultipartRow): Promise<void>;
  getMultipart(uploadId: string): Promise<MultipartRow | undefined>;
  listMultiparts(sessionId: string): Promise<MultipartRow[]>;
  /** Deletes a multipart upload and its parts; returns the parts it had (their files are the caller's to remove). */
  deleteMultipart(uploadId: string): Promise<UploadPartRow[] | undefined>;
  /** Inserts or replaces a part; returns the part it replaced. Undefined when the upload no longer exists. */
  putUploadPart(p: UploadPartRow): Promise<{ replaced: UploadPartRow | undefined } | undefined>;
  listUploadParts(uploadId: string): Promise<UploadPartRow[]>;

  // Signatures that only so many may use (one-time upload signatures, rlimit URLs).
  /**
   * True when `user` may use the signature: it used it already, or fewer than `max` users have
   * and it is recorded now. Atomic across processes: no two users take one place.
   */
  useSignature(u: SignatureUse): Promise<boolean>;
  /** Whether anyone has used the signature. */
  signatureUsed(kind: string, sign: string): Promise<boolean>;
  /** Forgets the uses of signatures that expired before `expiredBefore` (ms); returns how many. */
  purgeSignatureUses(expiredBefore: number): Promise<number>;

  // Custom templates.
  listTemplates(appId: number, family: string): Promise<TemplateRow[]>;
  getTemplate(appId: number, family: string, key: string): Promise<TemplateRow | undefined>;
  /** Inserts or replaces. */
  putTemplate(row: TemplateRow): Promise<void>;
  /** Inserts a new template; false (and nothing written) when its key is taken, e.g. by another process at once. */
  insertTemplate(row: TemplateRow): Promise<boolean>;
  deleteTemplate(appId: number, family: string, key: string): Promise<boolean>;
  /** The next free numeric key of the application's custom templates (shared by all families). */
  nextTemplateDefinition(appId: number, floor: number): Promise<number>;

  // Word samples.
  /** Inserts all of them, or none: answers the keywords that already exist (then nothing is written). */
  insertWordSamples(rows: WordSampleRow[]): Promise<string[]>;
  listWordSamples(appId: number): Promise<WordSampleRow[]>;
  /** Replaces usages, tags and updateTime; false when the keyword does not exist. */
  updateWordSample(row: WordSampleRow): Promise<boolean>;
  /** Answers how many were removed. */
  deleteWordSamples(appId: number, keywords: string[]): Promise<number>;

  // Person samples.
  /** False (nothing written) when the PersonId is taken. */
  insertPersonSample(row: PersonSampleRow): Promise<boolean>;
  listPersonSamples(appId: number): Promise<PersonSampleRow[]>;
  getPersonSample(appId: number, personId: string): Promise<PersonSampleRow | undefined>;
  /** Replaces everything but the keys and createTime; false when the person does not exist. */
  updatePersonSample(row: PersonSampleRow): Promise<boolean>;
  /** Answers the removed row (its pictures are the caller's to remove), if there was one. */
  deletePersonSample(appId: number, personId: string): Promise<PersonSampleRow | undefined>;

  // Events.
  getEventConfig(appId: number): Promise<EventConfig>;
  setEventConfig(appId: number, patch: Partial<EventConfig>): Promise<void>;
  insertEvents(events: NewEvent[]): Promise<void>;
  /** Takes up to `limit` pullable events, hiding them for `hideMs` under fresh handles. */
  pullEvents(appId: number, now: number, hideMs: number, limit: number): Promise<EventRow[]>;
  /** Deletes the events whose handles are current and unexpired; returns the handles that were not. */
  confirmEvents(appId: number, handles: string[], now: number): Promise<string[]>;
  countPullableEvents(appId: number, now: number): Promise<number>;
  /** Claims due PUSH events (at most `perApp` per application, skipping `busyApps`). */
  claimPushEvents(
    now: number,
    leaseMs: number,
    limit: number,
    perApp: number,
    busyApps: number[],
  ): Promise<EventRow[]>;
  /** After a delivery attempt: delivered (delete) or retry at `retryAt` (null = give up). */
  settlePushEvent(seq: number, delivered: boolean, retryAt: number | null, error: string): Promise<void>;
  nextPushDue(): Promise<number | undefined>;
  purgeEvents(createdBefore: number): Promise<number>;
}
