// A bounded local cache of remote blobs, for the readers that need a real file (ffmpeg, hashing).
// An entry is named by the blob's key and version (its ETag), so a blob replaced under the same
// key is never read stale: the old entry just ages out. Downloads go to a temporary name and are
// renamed when complete; concurrent readers of one blob share one download; least recently used
// entries go once the cache holds more than its limit, except those still held (pinned) by a
// reader. A file larger than the whole limit is still fetched, and goes once released.
//
// Several processes may share one data directory (cluster mode on one machine). Each indexes
// and bounds what it downloads itself (so the bound is per process), and a reader holds its
// copy through a hard link of its own (`.held.<pid>.*`): whoever evicts the entry, the reader's
// file stays until it lets go. Temporary and held files of processes that died are removed at
// start.
import { createHash, randomBytes } from "node:crypto";
import { link, mkdir, readdir, rename, rm, stat, unlink, utimes } from "node:fs/promises";
import { extname, join } from "node:path";
import type { Logger } from "pino";
import type { LocalBlob } from "./types.js";

interface Entry {
  readonly name: string;
  readonly path: string;
  /** The blob's key; unknown for entries found on disk at start. */
  readonly key: string | undefined;
  readonly size: number;
  lastUsed: number;
  pins: number;
  /** The blob was removed while pinned: delete the copy on its last release. */
  doomed: boolean;
}

/** A held copy; `entryPath` is the shared cache entry itself (no hold of its own). */
export interface CachedBlob extends LocalBlob {
  readonly entryPath: string;
}

interface Download {
  waiters: number;
  done: Promise<Entry>;
}

export class BlobCache {
  private readonly entries = new Map<string, Entry>();
  private readonly downloads = new Map<string, Download>();
  private total = 0;

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
    private readonly log?: Logger,
  ) {}

  /** Indexes what earlier runs left (oldest first out); drops what dead processes held. */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const e of await readdir(this.dir, { withFileTypes: true })) {
      const path = join(this.dir, e.name);
      if (e.name.startsWith(".")) {
        // `.held.<pid>.…` and `.<name>.<pid>.….part`: kept while their process lives.
        const pid = Number(
          (/^\.held\.(\d+)\./.exec(e.name) ?? /\.(\d+)\.[0-9a-f]+\.part$/.exec(e.name))?.[1],
        );
        if (pid && pid !== process.pid && alive(pid)) continue;
        await rm(path, { recursive: true, force: true });
        continue;
      }
      if (!e.isFile()) continue;
      const s = await stat(path);
      this.add({
        name: e.name,
        path,
        key: undefined,
        size: s.size,
        lastUsed: s.mtimeMs,
        pins: 0,
        doomed: false,
      });
    }
    await this.evict();
  }

  /** Bytes held, for tests and logs. */
  get size(): number {
    return this.total;
  }

  /** The entry name: a hash of key and version, keeping the extension (ffmpeg may look at it). */
  static nameOf(key: string, version: string): string {
    const ext = extname(key)
      .toLowerCase()
      .replace(/[^a-z0-9.]/g, "")
      .slice(0, 12);
    return createHash("sha256").update(`${key}\n${version}`).digest("hex").slice(0, 40) + ext;
  }

  /**
   * A pinned local copy of `key` at `version`, downloaded by `fetch(dest)` if not cached. `fetch`
   * writes the whole blob to `dest`; concurrent callers for the same blob share one call.
   */
  async acquire(key: string, version: string, fetch: (dest: string) => Promise<void>): Promise<CachedBlob> {
    const name = BlobCache.nameOf(key, version);
    for (let attempt = 0; ; attempt++) {
      let entry = this.entries.get(name);
      if (entry) {
        entry.pins++; // before any await: this process does not evict it now
        this.touch(entry);
      } else {
        let job = this.downloads.get(name);
        if (!job) {
          const created: Download = { waiters: 0, done: undefined as unknown as Promise<Entry> };
          created.done = this.download(name, key, fetch, created);
          this.downloads.set(name, created);
          job = created;
        }
        job.waiters++;
        entry = await job.done; // pinned for every waiter
      }
      const held = await this.hold(entry);
      if (held) return held;
      // Deleted behind our back (another process evicted it): fetch it again.
      entry.pins--;
      this.drop(entry);
      if (attempt >= 2) throw new Error(`cached copy of ${key} keeps disappearing from ${this.dir}`);
    }
  }

  /** Drops the copies of a removed key, or of every key under a prefix ending in `/`. */
  async forget(keyOrPrefix: string): Promise<void> {
    const matches = (k: string | undefined) =>
      k !== undefined && (keyOrPrefix.endsWith("/") ? k.startsWith(keyOrPrefix) : k === keyOrPrefix);
    for (const e of [...this.entries.values()]) {
      if (!matches(e.key)) continue;
      if (e.pins > 0) e.doomed = true;
      else await this.delete(e);
    }
  }

  private async download(name: string, key: string, fetch: (dest: string) => Promise<void>, job: Download) {
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `.${name}.${process.pid}.${randomBytes(6).toString("hex")}.part`);
    try {
      await fetch(tmp);
      const { size } = await stat(tmp);
      const path = join(this.dir, name);
      await rename(tmp, path);
      const entry: Entry = { name, path, key, size, lastUsed: Date.now(), pins: 0, doomed: false };
      // Every caller waiting on this download holds the entry from this moment.
      entry.pins = job.waiters;
      this.add(entry);
      return entry;
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    } finally {
      this.downloads.delete(name);
      void this.evict();
    }
  }

  /** The reader's own hard link to a pinned entry; undefined when the entry file is gone. */
  private async hold(e: Entry): Promise<CachedBlob | undefined> {
    const held = join(this.dir, `.held.${process.pid}.${randomBytes(6).toString("hex")}.${e.name}`);
    let path = held;
    try {
      await link(e.path, held);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return undefined;
      // A filesystem without hard links: read the entry itself (pinned in this process only).
      path = e.path;
      if (
        !(await stat(e.path).then(
          () => true,
          () => false,
        ))
      )
        return undefined;
    }
    let released = false;
    return {
      path,
      entryPath: e.path,
      release: () => {
        if (released) return;
        released = true;
        if (path !== e.path) void unlink(path).catch(() => {});
        e.pins--;
        e.lastUsed = Date.now();
        if (e.pins === 0 && e.doomed) void this.delete(e);
        else void this.evict();
      },
    };
  }

  private add(e: Entry): void {
    const old = this.entries.get(e.name);
    if (old) this.drop(old);
    this.entries.set(e.name, e);
    this.total += e.size;
  }

  private drop(e: Entry): boolean {
    if (this.entries.get(e.name) !== e) return false;
    this.entries.delete(e.name);
    this.total -= e.size;
    return true;
  }

  private async delete(e: Entry): Promise<void> {
    if (this.drop(e)) await rm(e.path, { force: true }).catch(() => {});
  }

  private touch(e: Entry): void {
    e.lastUsed = Date.now();
    // The file's mtime carries the order across restarts.
    const t = new Date(e.lastUsed);
    void utimes(e.path, t, t).catch(() => {});
  }

  /** Deletes the least recently used unpinned entries until the cache fits its limit. */
  private async evict(): Promise<void> {
    if (this.total <= this.maxBytes) return;
    const victims = [...this.entries.values()]
      .filter((e) => e.pins === 0)
      .sort((a, b) => a.lastUsed - b.lastUsed);
    for (const v of victims) {
      if (this.total <= this.maxBytes) break;
      if (v.pins > 0) continue; // pinned again meanwhile
      try {
        await this.delete(v);
      } catch (err) {
        this.log?.warn({ err, file: v.path }, "evicting a cached blob failed");
      }
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
