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
import {
  BLOCKS,
  CHIP_SEC,
  CODE_BITS,
  decodeBits,
  GRID_H,
  GRID_W,
  markCode,
  PERIOD_CHIPS,
} from "./digitalMark.js";

export const FRAME_RATE = 10;
export const SAMPLE_W = GRID_W * 4;
export const SAMPLE_H = GRID_H * 4;
export const FRAME_BYTES = SAMPLE_W * SAMPLE_H;
/** At most this many seconds of the file are read. */
export const MAX_SECONDS = 600;
/** E / CODE_BITS at which a mark counts as present (about 1 without a mark). */
export const DETECT_THRESHOLD = 4;

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

export function detect(frames: Float32Array[], key: Buffer): Detection {
  const code = markCode(key);
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
  const bitSign = new Float64Array(CODE_BITS);
  let best = { e: -1, z: new Float64Array(CODE_BITS) };
  for (let shift = 0; shift < CHIP_FRAMES; shift++) {
    // Slot q covers frames [start_q, end_q): the first slot may be partial (shift frames).
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
      for (let j = 0; j < BLOCKS; j++) x[q * BLOCKS + j] = (prefix[e * BLOCKS + j]! - prefix[s * BLOCKS + j]!) / n;
    }
    // High-pass over slots (interior slots only).
    const inner = slots - 2;
    const y = new Float64Array(inner * BLOCKS);
    for (let q = 1; q <= inner; q++)
      for (let j = 0; j < BLOCKS; j++)
        y[(q - 1) * BLOCKS + j] =
          x[q * BLOCKS + j]! - (x[(q - 1) * BLOCKS + j]! + x[(q + 1) * BLOCKS + j]!) / 2;
    for (let k0 = 0; k0 < PERIOD_CHIPS; k0++) {
      // The chip of slot q is k0 + q (slot 0 being the one the first frame falls in).
      const chip = (q: number) => code.chips[(k0 + q) % PERIOD_CHIPS]!;
      const r = new Float64Array(inner);
      for (let q = 1; q <= inner; q++) r[q - 1] = chip(q) - (chip(q - 1) + chip(q + 1)) / 2;
      bitSign.fill(0);
      const z = new Float64Array(CODE_BITS);
      for (let j = 0; j < BLOCKS; j++) {
        let d = 0;
        let n = 0;
        for (let q = 0; q < inner; q++) {
          const v = r[q]! * y[q * BLOCKS + j]!;
          d += v;
          n += v * v;
        }
        z[code.bitOf[j]!]! += n > 0 ? (code.sign[j]! * d) / Math.sqrt(n) : 0;
        bitSign[code.bitOf[j]!]! += 1;
      }
      let e = 0;
      for (let b = 0; b < CODE_BITS; b++) {
        z[b] = z[b]! / Math.sqrt(bitSign[b]! || 1);
        e += z[b]! * z[b]!;
      }
      if (e > best.e) best = { e, z };
    }
  }
  const score = best.e / CODE_BITS;
  const payload = decodeBits(Array.from(best.z, (v) => (v > 0 ? 1 : 0)));
  if (payload === undefined || score < DETECT_THRESHOLD) return { ...none, score };
  return { payload, score, confidence: Math.min(1, 1 - DETECT_THRESHOLD / score / 2), seconds };
}
