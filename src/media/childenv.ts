// The environment a media tool runs with. Statically linked builds (the johnvansickle ffmpeg and
// ffprobe that @ffmpeg-installer/@ffprobe-installer ship) carry an old glibc whose iconv loads
// the *system's* gconv modules through the system's gconv-modules.cache: on a newer glibc (Debian
// 12, Ubuntu 22.04...) the first charset conversion jumps into a module built for another libc
// and dies with SIGSEGV. The MPEG-TS demuxer converts every service name it reads, so such an
// ffprobe crashed on every .ts file and every HLS playlist. With GCONV_PATH set, glibc skips the
// cache and reads only the plain gconv-modules lists (which list no such module on those
// systems): iconv_open then fails cleanly and ffmpeg keeps the name's bytes as they are.

import { closeSync, openSync, readSync } from "node:fs";

const cache = new Map<string, NodeJS.ProcessEnv | undefined>();

/** The env to spawn `binary` with: undefined (inherit ours) unless it is a static ELF build. */
export function childEnv(binary: string): NodeJS.ProcessEnv | undefined {
  if (!cache.has(binary)) {
    cache.set(
      binary,
      isStaticElf(binary) ? { ...process.env, GCONV_PATH: "/nonexistent/openvod-gconv" } : undefined,
    );
  }
  return cache.get(binary);
}

const PT_INTERP = 3;

/** A 64-bit little-endian ELF executable without a program interpreter (no dynamic loader). */
export function isStaticElf(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
    const head = Buffer.alloc(64);
    if (readSync(fd, head, 0, 64, 0) < 64) return false;
    // "\x7fELF", ELFCLASS64, little-endian: what the npm packages ship for linux-x64.
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) return false;
    const phoff = Number(head.readBigUInt64LE(0x20));
    const phentsize = head.readUInt16LE(0x36);
    const phnum = head.readUInt16LE(0x38);
    if (phentsize < 4 || phnum === 0 || phnum > 256) return false;
    const table = Buffer.alloc(phentsize * phnum);
    if (readSync(fd, table, 0, table.length, phoff) < table.length) return false;
    for (let i = 0; i < phnum; i++) if (table.readUInt32LE(i * phentsize) === PT_INTERP) return false;
    return true;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
