// Small conversions of template values and filtergraph escaping.

/**
 * Escapes a value for a filter option inside a -filter_complex string (ffmpeg-filters,
 * "Notes on filtergraph escaping"): first the option level, then the graph level.
 */
export function escapeFilterValue(v: string): string {
  const level1 = v.replace(/[\\':]/g, (c) => "\\" + c);
  return level1.replace(/[\\'[\],;]/g, (c) => "\\" + c);
}

export function num(v: unknown, fallback = 0): number {
  const n = Number(v);
  return Number.isFinite(n) ? n : fallback;
}

export function str(v: unknown, fallback = ""): string {
  return typeof v === "string" && v !== "" ? v : fallback;
}

/** Formats seconds for ffmpeg options (no exponent notation). */
export function secs(v: number): string {
  return (Math.round(v * 1e6) / 1e6).toFixed(6).replace(/\.?0+$/, "") || "0";
}
