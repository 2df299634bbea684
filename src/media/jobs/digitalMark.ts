// openvod's invisible digital watermark (trace, copyright and blind marks), shared by the
// embedding (a filter-graph piece of the transcode) and the extraction (markDetect.ts).
//
// The picture is divided into a GRID_W x GRID_H grid of blocks. A key (per application and
// kind, see src/domain/digitalMarks.ts) draws a ±1 sign for every block, a balanced assignment
// of the blocks to the CODE_BITS bits (32 payload bits + CRC-16), and a sequence of PERIOD_CHIPS
// ±1 chips of CHIP_SEC seconds each. The luma of block j at SOURCE time t is raised by
//   level_j * sign_j * (bit_{b(j)} ? +1 : -1) * chip(floor(t / CHIP_SEC) mod PERIOD_CHIPS),
// level_j being 1 to 3 luma levels (see amplitudeFor: less on larger pictures),
// the small grid picture being upscaled bicubically (smooth edges) and added with blend's
// grainmerge (A + B - 128). The chip sign flips cancel the static picture at extraction, and
// the pattern depends on the source timestamp only, so a segment of a transcode carries
// exactly the mark the whole file would.
import { createHmac } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { FilterGraph, Size } from "./geometry.js";
import { secs } from "./values.js";

export const GRID_W = 32;
export const GRID_H = 18;
export const BLOCKS = GRID_W * GRID_H;
export const PAYLOAD_BITS = 32;
export const CRC_BITS = 16;
export const CODE_BITS = PAYLOAD_BITS + CRC_BITS;
export const CHIP_SEC = 0.5;
export const PERIOD_CHIPS = 64;
/**
 * Mean luma levels (of 255) the mark adds or removes at the centre of a block, on pictures of
 * REF_AREA pixels or fewer. The extraction averages each block over its pixels (downscaling to
 * 128x72), so coding noise weighs less in the block means of a larger picture and a weaker mark
 * scores as well: the amplitude falls as the fourth root of the area, down to MIN_AMPLITUDE.
 * What it buys is PSNR against the unmarked transcode at common sizes (the README's Digital
 * watermarks table: 39.6 -> 41.2 dB at preset 100010), at some robustness on grainy content.
 */
export const MAX_AMPLITUDE = 2.5;
export const MIN_AMPLITUDE = 1;
const REF_AREA = 320 * 180;

/** The mean amplitude of the mark on a picture of `size`. */
export function amplitudeFor(size: Size): number {
  const area = Math.max(1, size.width * size.height);
  return Math.min(MAX_AMPLITUDE, Math.max(MIN_AMPLITUDE, MAX_AMPLITUDE * (REF_AREA / area) ** 0.25));
}

/** What a mark is made of: the key of its (application, kind) and its 32-bit payload. */
export interface DigitalMark {
  key: Buffer;
  payload: number;
}

/** The keyed layout every mark of one key shares. */
export interface MarkCode {
  /** ±1 per block. */
  sign: Int8Array;
  /** The code bit each block carries. */
  bitOf: Uint8Array;
  /** ±1 per chip of the period. */
  chips: Int8Array;
  /** Keyed 0..1 per block: which blocks take the higher of two whole levels (see blockLevels). */
  dither: Float32Array;
}

/** A deterministic byte stream from HMAC-SHA256(key, label || counter). */
function keyStream(key: Buffer, label: string, n: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0, got = 0; got < n; i++) {
    const h = createHmac("sha256", key).update(`${label}:${i}`).digest();
    out.push(h);
    got += h.length;
  }
  return Buffer.concat(out).subarray(0, n);
}

export function markCode(key: Buffer): MarkCode {
  const signBytes = keyStream(key, "sign", BLOCKS);
  const sign = Int8Array.from(signBytes, (b) => (b & 1 ? 1 : -1));
  const dither = Float32Array.from(signBytes, (b) => ((b >> 1) + 0.5) / 128);
  // A keyed permutation of the blocks (Fisher-Yates); block perm[i] carries bit i mod CODE_BITS.
  const r = keyStream(key, "perm", BLOCKS * 4);
  const perm = Array.from({ length: BLOCKS }, (_, i) => i);
  for (let i = BLOCKS - 1; i > 0; i--) {
    const j = r.readUInt32BE(i * 4) % (i + 1);
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const bitOf = new Uint8Array(BLOCKS);
  perm.forEach((block, i) => (bitOf[block] = i % CODE_BITS));
  // Balanced chips: half +1, half -1, in keyed order, so static content cancels exactly.
  const c = keyStream(key, "chips", PERIOD_CHIPS * 4);
  const order = Array.from({ length: PERIOD_CHIPS }, (_, i) => i).sort(
    (a, b) => c.readUInt32BE(a * 4) - c.readUInt32BE(b * 4) || a - b,
  );
  const chips = new Int8Array(PERIOD_CHIPS);
  order.forEach((chip, i) => (chips[chip] = i % 2 ? 1 : -1));
  return { sign, bitOf, chips, dither };
}

/**
 * Whole luma levels per block whose mean is `amplitude`: its floor or ceiling, keyed (the
 * pattern frames are 8-bit). The extraction uses the signs only: it need not know the levels.
 */
export function blockLevels(code: MarkCode, amplitude: number): Uint8Array {
  const low = Math.floor(amplitude);
  const frac = amplitude - low;
  return Uint8Array.from(code.dither, (u) => low + (u < frac ? 1 : 0));
}

/** CRC-16/CCITT-FALSE of the payload's four bytes. */
export function crc16(payload: number): number {
  let crc = 0xffff;
  for (let k = 3; k >= 0; k--) {
    crc ^= ((payload >>> (k * 8)) & 0xff) << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The CODE_BITS code bits (0/1) of a payload: its 32 bits, then its CRC-16, most significant first. */
export function codeBits(payload: number): Uint8Array {
  const bits = new Uint8Array(CODE_BITS);
  const crc = crc16(payload >>> 0);
  for (let i = 0; i < PAYLOAD_BITS; i++) bits[i] = (payload >>> (PAYLOAD_BITS - 1 - i)) & 1;
  for (let i = 0; i < CRC_BITS; i++) bits[PAYLOAD_BITS + i] = (crc >>> (CRC_BITS - 1 - i)) & 1;
  return bits;
}

/** The payload of decoded code bits when their CRC holds, else undefined. */
export function decodeBits(bits: ArrayLike<number>): number | undefined {
  let payload = 0;
  for (let i = 0; i < PAYLOAD_BITS; i++) payload = ((payload << 1) | (bits[i]! & 1)) >>> 0;
  let crc = 0;
  for (let i = 0; i < CRC_BITS; i++) crc = (crc << 1) | (bits[PAYLOAD_BITS + i]! & 1);
  return crc === crc16(payload) ? payload : undefined;
}

/** ±1 per block: what chip +1 adds (times the block's level). */
export function blockPattern(code: MarkCode, payload: number): Int8Array {
  const bits = codeBits(payload);
  return Int8Array.from(code.sign, (s, j) => s * (bits[code.bitOf[j]!]! ? 1 : -1));
}

/** The chip index (within the period) of source time t. */
export function chipIndex(t: number): number {
  const k = Math.floor(t / CHIP_SEC + 1e-9);
  return ((k % PERIOD_CHIPS) + PERIOD_CHIPS) % PERIOD_CHIPS;
}

export interface MarkPlan {
  /** ffmpeg input options of the pattern stream, to append after the other inputs. */
  inputArgs: string[];
  /** Adds the mark to pad `input` (pictures of the planned size); returns the new pad. */
  apply(g: FilterGraph, input: string): string;
}

/**
 * Writes the pattern stream of the source window [start, start + duration) into `dir` (one
 * GRID_W x GRID_H yuv420p frame per chip: luma 128 ± the block's level, chroma 128) and returns
 * the filter-graph piece that adds it to pictures of `size`. `inputIndex` is the ffmpeg input
 * the pattern becomes.
 */
export async function planDigitalMark(
  mark: DigitalMark,
  dir: string,
  start: number,
  duration: number,
  inputIndex: number,
  size: Size,
): Promise<MarkPlan> {
  const code = markCode(mark.key);
  const pattern = blockPattern(code, mark.payload);
  const level = blockLevels(code, amplitudeFor(size));
  const k0 = Math.floor(start / CHIP_SEC + 1e-9);
  // Longer than the window (durations are estimates); blend ends with the picture (shortest).
  const count = Math.ceil((start + Math.max(duration, 0) * 1.1 + 30) / CHIP_SEC) - k0 + 1;
  const frameBytes = (BLOCKS * 3) / 2;
  const buf = Buffer.alloc(frameBytes * count, 128);
  for (let f = 0; f < count; f++) {
    const c = code.chips[chipIndex((k0 + f) * CHIP_SEC + CHIP_SEC / 2)]!;
    for (let j = 0; j < BLOCKS; j++) buf[f * frameBytes + j] = 128 + level[j]! * c * pattern[j]!;
  }
  const file = path.join(dir, `mark-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.yuv`);
  await writeFile(file, buf);
  const inputArgs = [
    "-f",
    "rawvideo",
    "-pix_fmt",
    "yuv420p",
    "-s",
    `${GRID_W}x${GRID_H}`,
    "-framerate",
    "1",
    "-i",
    `file:${file}`,
  ];
  return {
    inputArgs,
    apply(g, input) {
      const pat = g.label("dm");
      const out = g.label("dmo");
      // Frame f of the pattern starts at source time (k0 + f) * CHIP_SEC, i.e. output time that
      // minus `start`; the first one covers the window's beginning.
      const first = secs(k0 * CHIP_SEC - start);
      g.add(
        `[${inputIndex}:v]settb=AVTB,setpts='max(0,${first}+N*${secs(CHIP_SEC)})/TB',` +
          `scale=${size.width}:${size.height}:flags=bicubic[${pat}]`,
      );
      g.add(`[${input}][${pat}]blend=all_mode=grainmerge:repeatlast=1:shortest=1[${out}]`);
      return out;
    },
  };
}
