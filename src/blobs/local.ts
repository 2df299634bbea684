// Local-directory blob storage under <data>/files. Writers produce into <data>/tmp (same
// filesystem) and putFile renames, so a reader never sees a half-written file. The rename is
// made durable (its directory synced), and so is what is moved in, before the move: the store
// records a task's outputs right after, and a record must never outlive its file.
import { readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { mkdirDurable, syncDir, syncFile } from "./durable.js";
import type { BlobStat, BlobStore, LocalBlob } from "./types.js";

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
    await syncFile(localPath);
    await mkdirDurable(dirname(dest));
    await rename(localPath, dest);
    // The move is on disk once the new name is (what the store records next points at it).
    await syncDir(dirname(dest));
  }

  async putDir(prefix: string, localDir: string): Promise<void> {
    const dest = this.pathOf(prefix.replace(/\/+$/, ""));
    if (dest === this.root) throw new Error("refusing to replace the blob store root");
    await syncTree(localDir);
    await mkdirDurable(dirname(dest));
    // Swap in the new tree, then drop the old one: readers see the old tree or the whole new
    // one (or, for an instant, nothing), never a partly written tree.
    const old = `${dest}.old-${process.pid}-${Date.now()}`;
    await rename(dest, old).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
    await rename(localDir, dest);
    await syncDir(dirname(dest));
    await rm(old, { recursive: true, force: true });
  }

  async localPath(key: string): Promise<string> {
    return this.pathOf(key);
  }

  async openLocal(key: string): Promise<LocalBlob> {
    return { path: this.pathOf(key), release() {} };
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
    const p = this.pathOf(keyOrPrefix.replace(/\/+$/, ""));
    // An empty key names the whole store; removing it is never what a caller means.
    if (p === this.root)
      throw new Error(`refusing to remove the blob store root (key ${JSON.stringify(keyOrPrefix)})`);
    await rm(p, { recursive: true, force: true });
  }

  /** Used by the file server: the directory that /files/ maps onto. */
  static filesDir(dataDir: string): string {
    return join(dataDir, "files");
  }
}

/** Flushes every file of a tree and every directory's entries (an HLS output, say). */
async function syncTree(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await syncTree(p);
    else if (e.isFile()) await syncFile(p);
  }
  await syncDir(dir);
}
