// Local-directory blob storage under <data>/files. Writers produce into <data>/tmp (same
// filesystem) and putFile renames, so a reader never sees a half-written file.
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import type { BlobStat, BlobStore } from "./types.js";

export class LocalBlobStore implements BlobStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  private pathOf(key: string): string {
    const p = resolve(this.root, key);
    if (p !== this.root && !p.startsWith(this.root + sep))
      throw new Error(`blob key escapes the store: ${key}`);
    return p;
  }

  async putFile(key: string, localPath: string): Promise<void> {
    const dest = this.pathOf(key);
    await mkdir(dirname(dest), { recursive: true });
    await rename(localPath, dest);
  }

  async localPath(key: string): Promise<string> {
    return this.pathOf(key);
  }

  async stat(key: string): Promise<BlobStat | undefined> {
    try {
      const s = await stat(this.pathOf(key));
      return s.isFile() ? { size: s.size } : undefined;
    } catch {
      return undefined;
    }
  }

  async remove(keyOrPrefix: string): Promise<void> {
    await rm(this.pathOf(keyOrPrefix.replace(/\/+$/, "")), { recursive: true, force: true });
  }

  /** Used by the file server: the directory that /files/ maps onto. */
  static filesDir(dataDir: string): string {
    return join(dataDir, "files");
  }
}
