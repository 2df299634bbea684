// Where job outputs are made: hidden temporary directories renamed into place when complete.
import { randomBytes } from "node:crypto";
import { mkdir, readdir, rename, rm, rmdir } from "node:fs/promises";
import path from "node:path";
import { internalError } from "./types.js";

/** A hidden sibling of `target` (same file system, so rename works). */
export function siblingTemp(target: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
}

/**
 * Runs `produce` in a fresh temporary directory beside `outDir`, then moves the result into
 * `outDir`: a rename of the whole directory when `outDir` does not exist (or is empty), else a
 * rename per file. The temporary directory is removed in every case.
 */
export async function produceDir<T>(outDir: string, produce: (tmpDir: string) => Promise<T>): Promise<T> {
  await mkdir(path.dirname(path.resolve(outDir)), { recursive: true });
  const tmp = siblingTemp(path.resolve(outDir));
  await mkdir(tmp);
  try {
    const result = await produce(tmp);
    await commitDir(tmp, path.resolve(outDir));
    return result;
  } finally {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function commitDir(tmp: string, outDir: string): Promise<void> {
  try {
    await rename(tmp, outDir);
    return;
  } catch {
    // outDir exists: replace it if empty, else merge file by file.
  }
  try {
    await rmdir(outDir);
    await rename(tmp, outDir);
    return;
  } catch {
    // Not empty (or not removable).
  }
  await mkdir(outDir, { recursive: true });
  for (const name of await readdir(tmp)) await rename(path.join(tmp, name), path.join(outDir, name));
}

/** A scratch directory for helper files (e.g. watermark text), always removed. */
export async function withScratch<T>(near: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = siblingTemp(path.resolve(near));
  await mkdir(path.dirname(dir), { recursive: true });
  await mkdir(dir);
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * A directory given to a muxer that expands patterns (image2 "%05d", hls "%v"): ffmpeg's hls and
 * image2 muxers do not accept an escaped "%%", so a directory containing "%" is refused.
 */
export function patternSafe(dir: string): string {
  if (dir.includes("%")) throw internalError(`output path ${path.basename(dir)} contains "%"`);
  return dir;
}
