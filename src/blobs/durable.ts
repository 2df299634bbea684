// fsync for what openvod acknowledges as stored: a file's data before the answer that accepts
// it, and a directory's entries after a file was created or renamed into it (a rename is only
// on disk once its directory is). Run in the thread pool; the event loop never waits on a disk.
import { mkdir, open } from "node:fs/promises";
import { dirname, resolve } from "node:path";

/** Flushes a file's data (and its size) to disk. */
export async function syncFile(path: string): Promise<void> {
  const h = await open(path, "r");
  try {
    await h.datasync();
  } finally {
    await h.close();
  }
}

/** Flushes a directory's entries; a no-op where directories cannot be opened for it (not Linux). */
export async function syncDir(path: string): Promise<void> {
  let h;
  try {
    h = await open(path, "r");
    await h.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EISDIR" && code !== "EPERM" && code !== "EINVAL" && code !== "EBADF") throw err;
  } finally {
    await h?.close();
  }
}

/** mkdir -p whose new directories are durable too (each one's parent synced). */
export async function mkdirDurable(path: string): Promise<void> {
  const first = await mkdir(path, { recursive: true });
  if (first === undefined) return;
  for (let d = resolve(path); ; d = dirname(d)) {
    await syncDir(dirname(d));
    if (d === resolve(first) || dirname(d) === d) break;
  }
}
