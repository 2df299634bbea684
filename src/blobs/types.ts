// Blob storage: where media files and task outputs live. Keys are relative POSIX paths such
// as `1250000000/5285890784246869930/f0.mp4`; callers build them only through blobKey().
// A local directory implements it now; S3-compatible storage can follow behind it.

export interface BlobStat {
  size: number;
}

export interface BlobStore {
  /** Moves a finished local file into storage under `key` (atomic for readers). */
  putFile(key: string, localPath: string): Promise<void>;
  /** Moves a finished local directory into storage as `prefix/...`, replacing what was there. */
  putDir(prefix: string, localDir: string): Promise<void>;
  /** A local path to read the blob from (for ffmpeg and hashing). */
  localPath(key: string): Promise<string>;
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
