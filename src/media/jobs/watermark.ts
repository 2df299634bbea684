// Image and text watermarks (WatermarkTemplate + WatermarkInput) as filtergraph chains applied
// to the scaled output picture: percentages refer to the output's size, XPos/YPos are measured
// from the CoordinateOrigin corner to the same corner of the watermark, and the time window
// (WatermarkInput Start/EndTimeOffset) is on the output's timeline.

import path from "node:path";
import { escapeFilterValue, num, secs, str } from "./values.js";
import type { FilterGraph, Size } from "./geometry.js";
import { badParameter, internalError, type Watermark } from "./types.js";

export interface WatermarkOptions {
  /** Index of the first ffmpeg input the watermark pictures get (after the source inputs). */
  firstInput: number;
  /** How many outputs get the watermarks (adaptive streaming renditions); the pictures are split. */
  copies: number;
  /** The cloud draws no text watermark on snapshots ("文字水印不支持截图打水印"). */
  allowText: boolean;
  /** Output duration for negative time offsets; undefined ignores time windows (snapshots). */
  outputDuration?: number;
}

export interface WatermarkPlan {
  /** ffmpeg input options for the pictures, to append after the source inputs. */
  inputArgs: string[];
  /** How many watermarks are drawn. */
  count: number;
  /** Draws every watermark on pad `input` (of size `size`) for copy `copy`; returns the new pad. */
  apply(g: FilterGraph, input: string, size: Size, copy?: number): string;
}

interface Prepared {
  wm: Watermark;
  kind: "image" | "text";
  inputIndex: number;
  /** Pads carrying the picture, one per copy (filled on the first apply). */
  pads: string[];
  animated: boolean;
  repeat: string;
}

export function planWatermarks(list: Watermark[] | undefined, o: WatermarkOptions): WatermarkPlan {
  const inputArgs: string[] = [];
  const prepared: Prepared[] = [];
  let next = o.firstInput;
  for (const wm of list ?? []) {
    const type = str(wm.template?.Type, "image").toLowerCase();
    if (type === "image") {
      if (!wm.imageFile) throw internalError("an image watermark has no picture file");
      const animated = /\.(gif|webp|apng)$/i.test(wm.imageFile);
      const repeat = str(wm.template?.ImageTemplate?.RepeatType, "repeat_last_frame");
      if (animated && repeat === "repeat") inputArgs.push("-stream_loop", "-1");
      inputArgs.push("-i", `file:${path.resolve(wm.imageFile)}`);
      prepared.push({ wm, kind: "image", inputIndex: next++, pads: [], animated, repeat });
    } else if (type === "text") {
      if (!o.allowText || !wm.text) continue;
      prepared.push({ wm, kind: "text", inputIndex: -1, pads: [], animated: false, repeat: "" });
    } else {
      // SVG watermarks need a renderer ffmpeg does not have; the caller reports them.
      throw badParameter(`watermark type ${type} is not supported`);
    }
  }
  let split = false;
  return {
    inputArgs,
    count: prepared.length,
    apply(g, input, size, copy = 0) {
      if (!split) {
        split = true;
        for (const p of prepared) {
          if (p.kind !== "image") continue;
          if (o.copies <= 1) p.pads = [`${p.inputIndex}:v`];
          else {
            p.pads = Array.from({ length: o.copies }, () => g.label("wm"));
            g.add(`[${p.inputIndex}:v]split=${o.copies}${p.pads.map((l) => `[${l}]`).join("")}`);
          }
        }
      }
      let cur = input;
      for (const p of prepared) {
        const out = g.label("wo");
        const enable = enableExpr(p.wm, o.outputDuration);
        const t = p.wm.template ?? {};
        const X = length(t.XPos, size.width, "XPos");
        const Y = length(t.YPos, size.height, "YPos");
        const origin = str(t.CoordinateOrigin, "topLeft");
        const right = /right$/i.test(origin);
        const bottom = /^bottom/i.test(origin);
        if (p.kind === "image") {
          const it = t.ImageTemplate ?? {};
          const w = length(str(it.Width, "10%"), size.width, "ImageTemplate.Width");
          const h = length(str(it.Height, "0px"), size.height, "ImageTemplate.Height");
          const filters: string[] = [];
          if (w > 0 || h > 0) filters.push(`scale=${w > 0 ? w : -1}:${h > 0 ? h : -1}`);
          const transparency = Math.min(100, Math.max(0, num(it.Transparency)));
          filters.push("format=rgba");
          if (transparency > 0) filters.push(`colorchannelmixer=aa=${secs(1 - transparency / 100)}`);
          const pic = g.label("wp");
          g.add(`[${p.pads[copy] ?? p.pads[0]}]${filters.join(",")}[${pic}]`);
          const x = right ? `main_w-overlay_w-${X}` : `${X}`;
          const y = bottom ? `main_h-overlay_h-${Y}` : `${Y}`;
          const eof = p.animated && p.repeat === "once" ? ":eof_action=pass" : "";
          const shortest = p.animated && p.repeat === "repeat" ? ":shortest=1" : "";
          g.add(`[${cur}][${pic}]overlay=x=${x}:y=${y}${eof}${shortest}${enable}[${out}]`);
        } else {
          const tt = t.TextTemplate ?? {};
          const fontSize = Math.max(
            1,
            Math.round(length(str(tt.FontSize, "16px"), 0, "TextTemplate.FontSize")),
          );
          const color = /^0x[0-9a-f]{6}$/i.test(str(tt.FontColor)) ? str(tt.FontColor) : "0xFFFFFF";
          const alpha = tt.FontAlpha === undefined ? 1 : Math.min(1, Math.max(0, num(tt.FontAlpha, 1)));
          const font = /simkai/i.test(str(tt.FontType))
            ? "KaiTi"
            : /arial/i.test(str(tt.FontType))
              ? "Arial"
              : "Sans";
          const x = right ? `w-text_w-${X}` : `${X}`;
          const y = bottom ? `h-text_h-${Y}` : `${Y}`;
          g.add(
            `[${cur}]drawtext=text=${escapeFilterValue(p.wm.text ?? "")}:expansion=none:font=${font}` +
              `:fontsize=${fontSize}:fontcolor=${color}@${secs(alpha)}:x=${x}:y=${y}${enable}[${out}]`,
          );
        }
        cur = out;
      }
      return cur;
    },
  };
}

/** "10%" of `dim`, "100px", or a bare number of pixels; "" is 0. */
export function length(v: unknown, dim: number, what: string): number {
  if (v === undefined || v === null || v === "") return 0;
  if (typeof v === "number") return Math.max(0, Math.round(v));
  const s = String(v).trim();
  const m = /^(\d+(?:\.\d+)?)\s*(%|px)?$/i.exec(s);
  if (!m) throw badParameter(`invalid watermark ${what}: ${s}`);
  const n = Number(m[1]);
  return Math.max(0, Math.round(m[2] === "%" ? (n * dim) / 100 : n));
}

function enableExpr(wm: Watermark, duration: number | undefined): string {
  if (duration === undefined) return "";
  let start = num(wm.startTimeOffset);
  let end = num(wm.endTimeOffset);
  if (start < 0) start = Math.max(0, duration + start);
  if (end < 0) end = duration + end;
  if (start <= 0 && end === 0) return "";
  if (end === 0) return `:enable='gte(t,${secs(start)})'`;
  return `:enable='between(t,${secs(start)},${secs(Math.max(start, end))})'`;
}
