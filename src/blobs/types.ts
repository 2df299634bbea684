// Blob storage: where media files and task outputs live. Keys are relative POSIX paths such
// as `1250000000/5285890784246869930/f0.mp4`; callers build them only through blobKey().
// Two implementations: a local directory (local.ts, the default) and S3-compatible object
// storage (s3.ts), which keeps downloaded copies for ffmpeg in a bounded local cache.

export interface BlobStat {
  size: number;
}

/** A local copy of a blob to read from; with remote storage it stays cached until released. */
export interface LocalBlob {
  readonly path: string;
  /** Lets the copy go (idempotent); the path may disappear any time after. */
  release(): void;
}

export interface BlobStore {
  /** Moves a finished local file into storage under `key` (atomic for readers). */
  putFile(key: string, localPath: string): Promise<void>;
  /**
   * Moves a finished local directory into storage as `prefix/...`, replacing what was there
   * (local: swapped in whole; S3: the new files uploaded, then the stale keys deleted).
   */
  putDir(prefix: string, localDir: string): Promise<void>;
  /**
   * A local path to read the blob from (for ffmpeg and hashing), for a short read: with remote
   * storage it is a cache entry that later downloads may evict. Long readers use openLocal.
   */
  localPath(key: string): Promise<string>;
  /** A local copy that stays until release() (remote storage: pinned in the cache). */
  openLocal(key: string): Promise<LocalBlob>;
  stat(key: string): Promise<BlobStat | undefined>;
  /** Removes every blob under `prefix` (a directory-like key ending in `/`) or one key. */
  remove(keyOrPrefix: string): Promise<void>;
}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Builds a key from trusted segments; refuses anything that could climb out of the store. */
export function blobKey(...segments: Array<string | number>): string {
  const parts = segments.map(String);
  for (const p of parts) {
    if (!SEGMENT.test(p) || p.includes(".."))
      throw new Error(`unsafe blob key segment: ${JSON.stringify(p)}`);
  }
  return parts.join("/");
}
