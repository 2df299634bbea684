// The size and animation of a WebP file, read from its RIFF chunks. ffmpeg's WebP decoder
// cannot read animated WebP ("image data not found"), so ffprobe reports such a file as 0x0;
// the container itself states the canvas (VP8X) and each frame's duration (ANMF).
// https://developers.google.com/speed/webp/docs/riff_container

import { open } from "node:fs/promises";

export interface WebpInfo {
  width: number;
  height: number;
  /** ANMF chunks; 0 for a still picture. */
  frames: number;
  /** Sum of the frames' durations, in milliseconds. */
  durationMs: number;
}

/** Chunk headers only: a frame's payload is skipped, not read. */
export async function webpInfo(file: string): Promise<WebpInfo | undefined> {
  const fh = await open(file, "r");
  try {
    const read = async (at: number, n: number) => {
      const buf = Buffer.alloc(n);
      const { bytesRead } = await fh.read(buf, 0, n, at);
      return buf.subarray(0, bytesRead);
    };
    const riff = await read(0, 12);
    if (
      riff.length < 12 ||
      riff.toString("latin1", 0, 4) !== "RIFF" ||
      riff.toString("latin1", 8, 12) !== "WEBP"
    )
      return undefined;
    const end = Math.min((await fh.stat()).size, 8 + riff.readUInt32LE(4));
    const info: WebpInfo = { width: 0, height: 0, frames: 0, durationMs: 0 };
    for (let at = 12; at + 8 <= end;) {
      const head = await read(at, 8 + 16);
      if (head.length < 8) break;
      const type = head.toString("latin1", 0, 4);
      const size = head.readUInt32LE(4);
      const body = head.subarray(8);
      if (type === "VP8X" && body.length >= 10) {
        // 24-bit canvas width - 1 and height - 1 after 4 bytes of flags.
        info.width = body.readUIntLE(4, 3) + 1;
        info.height = body.readUIntLE(7, 3) + 1;
      } else if (type === "ANMF" && body.length >= 15) {
        info.frames++;
        info.durationMs += body.readUIntLE(12, 3);
      } else if (type === "VP8L" && body.length >= 5 && !info.width) {
        // Lossless still: 14-bit width - 1 and height - 1 after the 0x2f signature.
        const bits = body.readUInt32LE(1);
        info.width = (bits & 0x3fff) + 1;
        info.height = ((bits >>> 14) & 0x3fff) + 1;
      } else if (type === "VP8 " && body.length >= 10 && !info.width) {
        // Lossy still: a key frame's 14-bit width and height after the start code.
        info.width = body.readUInt16LE(6) & 0x3fff;
        info.height = body.readUInt16LE(8) & 0x3fff;
      }
      // Chunks are padded to an even size.
      at += 8 + size + (size & 1);
    }
    return info.width > 0 && info.height > 0 ? info : undefined;
  } finally {
    await fh.close();
  }
}
