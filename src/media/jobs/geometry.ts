// Output size rules of the VOD templates (VideoTemplateInfo, SnapshotByTimeOffsetTemplate,
// SampleSnapshotTemplate, ImageSpriteTemplate, AnimatedGraphicsTemplate), computed in
// JavaScript from the probed, upright source size, and the ffmpeg filter chain that applies them.
//
// - ResolutionAdaptive "open" (the default): Width is the long side and Height the short side,
//   so a portrait source gives a portrait output; "close": Width is the width, Height the height.
// - Width and Height both 0: the source size. One of them 0: the other one is derived keeping
//   the source's aspect ratio. Both set: exactly that size, and FillType decides what happens
//   when the aspect ratios differ (stretch, black/white bars, or a blurred copy behind).
// - The cloud does upscale (a 360p template on a 240p source gives 360p); only the adaptive
//   streaming template's DisableHigherVideoResolution forbids it (`noUpscale`).
// - Video sizes are even (yuv420p); picture sizes need not be.

import { num, str } from "./values.js";
import type { Template } from "./types.js";

export interface Size {
  width: number;
  height: number;
}

export type Fill = "stretch" | "black" | "white" | "gauss";

export interface Geometry {
  /** The output frame. */
  width: number;
  height: number;
  /** The scaled picture inside the frame (equals the frame unless bars or blur are added). */
  innerWidth: number;
  innerHeight: number;
  /** How the rest of the frame is filled; "none" when the picture fills the frame. */
  fill: Fill | "none";
}

export interface GeometryOptions {
  /** Round to even numbers (video encoders with 4:2:0 chroma). */
  even: boolean;
  /** FillType when the template has none (the cloud's default is black). */
  defaultFill?: Fill;
  /** Never exceed the source size (DisableHigherVideoResolution). */
  noUpscale?: boolean;
}

export function fillType(v: unknown, fallback: Fill = "black"): Fill {
  const s = str(v).toLowerCase();
  return s === "stretch" || s === "black" || s === "white" || s === "gauss" ? s : fallback;
}

/** The output size for a template's Width/Height/ResolutionAdaptive/FillType on an upright source. */
export function targetGeometry(src: Size, t: Template, o: GeometryOptions): Geometry {
  const sw = Math.max(1, src.width);
  const sh = Math.max(1, src.height);
  const W = Math.max(0, num(t.Width));
  const H = Math.max(0, num(t.Height));
  const open = str(t.ResolutionAdaptive, "open").toLowerCase() !== "close";
  const portrait = sh > sw;
  let [bw, bh] = open && portrait ? [H, W] : [W, H];
  let fill: Fill | "none" = "none";
  if (bw === 0 && bh === 0) {
    bw = sw;
    bh = sh;
  } else if (bw === 0) {
    bw = (bh * sw) / sh;
  } else if (bh === 0) {
    bh = (bw * sh) / sw;
  } else {
    fill = fillType(t.FillType, o.defaultFill);
  }
  if (o.noUpscale && (bw > sw || bh > sh)) {
    const k = Math.min(sw / bw, sh / bh);
    bw *= k;
    bh *= k;
  }
  const round = (x: number) => (o.even ? Math.max(2, Math.round(x / 2) * 2) : Math.max(1, Math.round(x)));
  const width = round(bw);
  const height = round(bh);
  let innerWidth = width;
  let innerHeight = height;
  if (fill !== "none" && fill !== "stretch") {
    const k = Math.min(width / sw, height / sh);
    innerWidth = Math.min(width, round(sw * k));
    innerHeight = Math.min(height, round(sh * k));
    if (o.even) {
      innerWidth -= innerWidth % 2;
      innerHeight -= innerHeight % 2;
    }
    if (innerWidth === width && innerHeight === height) fill = "none";
  }
  if (fill === "stretch") fill = "none";
  return { width, height, innerWidth, innerHeight, fill };
}

/** Allocates unique pad labels for one filtergraph and collects its chains. */
export class FilterGraph {
  private readonly chains: string[] = [];
  private n = 0;
  label(prefix = "l"): string {
    return `${prefix}${this.n++}`;
  }
  add(chain: string): void {
    this.chains.push(chain);
  }
  get empty(): boolean {
    return this.chains.length === 0;
  }
  toString(): string {
    return this.chains.join(";");
  }
}

/**
 * Adds the scale/fill chain from pad `input` to a new pad, which it returns. `pre` filters (fps...)
 * run before scaling and `post` filters (format...) after it.
 */
export function addScale(
  g: FilterGraph,
  input: string,
  geo: Geometry,
  pre: string[] = [],
  post: string[] = [],
): string {
  const out = g.label("sc");
  const head = pre.length ? `${pre.join(",")},` : "";
  const tail = post.length ? `,${post.join(",")}` : "";
  const { width: W, height: H, innerWidth: iw, innerHeight: ih } = geo;
  const x = Math.floor((W - iw) / 4) * 2;
  const y = Math.floor((H - ih) / 4) * 2;
  switch (geo.fill) {
    case "none":
    case "stretch":
      g.add(`[${input}]${head}scale=${W}:${H},setsar=1${tail}[${out}]`);
      break;
    case "black":
    case "white":
      g.add(
        `[${input}]${head}scale=${iw}:${ih},setsar=1,pad=${W}:${H}:${x}:${y}:color=${geo.fill}${tail}[${out}]`,
      );
      break;
    case "gauss": {
      const a = g.label("ga");
      const b = g.label("gb");
      const bg = g.label("gbg");
      const fg = g.label("gfg");
      const sigma = Math.max(4, Math.round(Math.max(W, H) / 24));
      g.add(`[${input}]${head}split=2[${a}][${b}]`);
      g.add(
        `[${a}]scale=${W}:${H}:force_original_aspect_ratio=increase,crop=${W}:${H},gblur=sigma=${sigma},setsar=1[${bg}]`,
      );
      g.add(`[${b}]scale=${iw}:${ih},setsar=1[${fg}]`);
      g.add(`[${bg}][${fg}]overlay=${x}:${y}${tail}[${out}]`);
      break;
    }
  }
  return out;
}
