// Extraction of openvod's digital watermark (see digitalMark.ts) from downscaled grey frames:
// pure arithmetic on block means, run in a worker thread (markWorker.ts), never on the event
// loop. Frames arrive at FRAME_RATE as SAMPLE_W x SAMPLE_H grey bytes.
//
// For every candidate alignment of the chip sequence (which chip the first frame falls in, and
// where inside it: the file may have been cut), the block means are averaged per chip slot,
// high-passed over time (x_k - (x_{k-1} + x_{k+1}) / 2, which removes the picture's own slow
// changes) and correlated with the equally filtered chip sequence. Each block's correlation is
// divided by its own energy (a t-like statistic), the blocks of each code bit are combined
// with their keyed signs into z_b (about N(0,1) when there is no mark), and the alignment with
// the largest E = sum z_b^2 wins. A mark is reported only when E clears DETECT_THRESHOLD and
// the decoded bits pass their CRC-16; anything else is "no watermark".
import { createHmac } from "node:crypto";
import {
  BLOCKS,
  CHIP_SEC,
  CODE_BITS,
  decodeBits,
  GRID_H,
  GRID_W,
  markCode,
  PERIOD_CHIPS,
  type MarkCode,
} from "./digitalMark.js";

export const FRAME_RATE = 10;
export const SAMPLE_W = GRID_W * 4;
export const SAMPLE_H = GRID_H * 4;
export const FRAME_BYTES = SAMPLE_W * SAMPLE_H;
/** At most this many seconds of the file are read. */
export const MAX_SECONDS = 600;
/** E over the decoys' E at which a mark counts as present (about 1 without a mark). */
export const DETECT_THRESHOLD = 2;

const CHIP_FRAMES = Math.round(CHIP_SEC * FRAME_RATE);

/** Collects block means of the frames pushed as bytes (any chunking). */
export class BlockMeans {
  private pending = Buffer.alloc(0);
  private readonly frames: Float32Array[] = [];
  readonly maxFrames = MAX_SECONDS * FRAME_RATE;

  push(chunk: Uint8Array): void {
    let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk);
    let off = 0;
    while (data.length - off >= FRAME_BYTES && this.frames.length < this.maxFrames) {
      this.frames.push(blockMeans(data.subarray(off, off + FRAME_BYTES)));
      off += FRAME_BYTES;
    }
    this.pending = this.frames.length >= this.maxFrames ? Buffer.alloc(0) : Buffer.from(data.subarray(off));
    data = Buffer.alloc(0);
  }

  get count(): number {
    return this.frames.length;
  }

  list(): Float32Array[] {
    return this.frames;
  }
}

/** Mean of each 4x4 block of a frame, minus the frame's own mean (fades and flashes cancel). */
function blockMeans(frame: Uint8Array): Float32Array {
  const out = new Float32Array(BLOCKS);
  for (let y = 0; y < SAMPLE_H; y++) {
    const row = y * SAMPLE_W;
    const by = (y >> 2) * GRID_W;
    for (let x = 0; x < SAMPLE_W; x++) out[by + (x >> 2)]! += frame[row + x]!;
  }
  let mean = 0;
  for (let j = 0; j < BLOCKS; j++) mean += out[j]!;
  mean /= BLOCKS;
  for (let j = 0; j < BLOCKS; j++) out[j] = (out[j]! - mean) / 16;
  return out;
}

export interface Detection {
  /** The payload when a mark was found (CRC valid and the statistic over the threshold). */
  payload?: number;
  /** E / CODE_BITS of the best alignment: about 1 without a mark. */
  score: number;
  /** 0..1: how far the score is above the noise, 0 when there is no mark. */
  confidence: number;
  /** Seconds of video analysed. */
  seconds: number;
}

/** The best alignment of one key's code: E = sum of z_b^2 and the z_b. */
function search(prefix: Float64Array, F: number, code: MarkCode): { e: number; z: Float64Array } {
  const counts = new Float64Array(CODE_BITS);
  for (let j = 0; j < BLOCKS; j++) counts[code.bitOf[j]!]! += 1;
  let best = { e: -1, z: new Float64Array(CODE_BITS) };
  for (let shift = 0; shift < CHIP_FRAMES; shift++) {
    // Slot q covers frames [bounds[q], bounds[q+1]): the first slot may be partial (shift frames).
    const bounds: number[] = [0];
    for (let f = shift === 0 ? CHIP_FRAMES : shift; f < F; f += CHIP_FRAMES) bounds.push(f);
    bounds.push(F);
    const slots = bounds.length - 1;
    if (slots < 4) continue;
    const x = new Float64Array(slots * BLOCKS);
    for (let q = 0; q < slots; q++) {
      const s = bounds[q]!;
      const e = bounds[q + 1]!;
      const n = e - s;
      for (let j = 0; j < BLOCKS; j++)
        x[q * BLOCKS + j] = (prefix[e * BLOCKS + j]! - prefix[s * BLOCKS + j]!) / n;
    }
    // High-pass over slots (interior slots only).
    const inner = slots - 2;
    const y = new Float64Array(inner * BLOCKS);
    for (let q = 1; q <= inner; q++)
      for (let j = 0; j < BLOCKS; j++)
        y[(q - 1) * BLOCKS + j] =
          x[q * BLOCKS + j]! - (x[(q - 1) * BLOCKS + j]! + x[(q + 1) * BLOCKS + j]!) / 2;
    const r = new Float64Array(inner);
    for (let k0 = 0; k0 < PERIOD_CHIPS; k0++) {
      // The chip of slot q is k0 + q (slot 0 being the one the first frame falls in).
      const chip = (q: number) => code.chips[(k0 + q) % PERIOD_CHIPS]!;
      for (let q = 1; q <= inner; q++) r[q - 1] = chip(q) - (chip(q - 1) + chip(q + 1)) / 2;
      const z = new Float64Array(CODE_BITS);
      for (let j = 0; j < BLOCKS; j++) {
        let d = 0;
        let n = 0;
        for (let q = 0; q < inner; q++) {
          const v = r[q]! * y[q * BLOCKS + j]!;
          d += v;
          n += v * v;
        }
        if (n > 0) z[code.bitOf[j]!]! += (code.sign[j]! * d) / Math.sqrt(n);
      }
      let e = 0;
      for (let b = 0; b < CODE_BITS; b++) {
        z[b] = z[b]! / Math.sqrt(counts[b]! || 1);
        e += z[b]! * z[b]!;
      }
      if (e > best.e) best = { e, z };
    }
  }
  return best;
}

/** Keys of no mark: how high E climbs on this very content by chance. */
const DECOYS = 6;

/**
 * The payload of the z_b: their signs, or, when the CRC fails, the signs with up to two of the
 * FLIP_CANDIDATES weakest bits flipped (weak bits are the likely errors).
 */
const FLIP_CANDIDATES = 8;
function decodeSoft(z: Float64Array): number | undefined {
  const bits: number[] = Array.from(z, (v) => (v > 0 ? 1 : 0));
  const direct = decodeBits(bits);
  if (direct !== undefined) return direct;
  const weak = Array.from(z, (v, i) => [Math.abs(v), i] as const)
    .sort((a, b) => a[0] - b[0])
    .slice(0, FLIP_CANDIDATES)
    .map(([, i]) => i);
  const tryFlip = (flips: number[]) => {
    const b = bits.slice();
    for (const i of flips) b[i] = 1 - b[i]!;
    return decodeBits(b);
  };
  for (const i of weak) {
    const p = tryFlip([i]);
    if (p !== undefined) return p;
  }
  for (let a = 0; a < weak.length; a++)
    for (let c = a + 1; c < weak.length; c++) {
      const p = tryFlip([weak[a]!, weak[c]!]);
      if (p !== undefined) return p;
    }
  return undefined;
}

export function detect(frames: Float32Array[], key: Buffer): Detection {
  const seconds = frames.length / FRAME_RATE;
  const none: Detection = { score: 0, confidence: 0, seconds };
  if (frames.length < CHIP_FRAMES * 4) return none;
  // Prefix sums over frames, per block.
  const F = frames.length;
  const prefix = new Float64Array((F + 1) * BLOCKS);
  for (let f = 0; f < F; f++) {
    const fr = frames[f]!;
    const a = f * BLOCKS;
    const b = a + BLOCKS;
    for (let j = 0; j < BLOCKS; j++) prefix[b + j] = prefix[a + j]! + fr[j]!;
  }
  const best = search(prefix, F, markCode(key));
  let floor = 0;
  for (let i = 0; i < DECOYS; i++)
    floor += search(prefix, F, markCode(createHmac("sha256", key).update(`decoy:${i}`).digest())).e / DECOYS;
  const score = best.e / Math.max(floor, CODE_BITS);
  const payload = decodeSoft(best.z);
  if (payload === undefined || score < DETECT_THRESHOLD) return { ...none, score };
  return { payload, score, confidence: Math.min(1, 1 - DETECT_THRESHOLD / score / 2), seconds };
}
