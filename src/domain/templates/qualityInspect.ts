// QualityInspect templates: which checks InspectMediaQuality runs, as Configs (QualityInspectConfig)
// or the legacy *Configure switches, and the TimeSpotCheck strategy. Checks openvod cannot run
// for real (codes, no-reference scores, jitter, mosaic, LLM, container checks beyond stream presence)
// are refused by name rather than accepted and never reported. The cloud has no presets here.
import { DEFAULT_THRESHOLDS, INSPECT_CHECKS, type InspectCheck } from "../../media/jobs/qualityInspect.js";
import { mergeFamily } from "./merge.js";
import { checkFields, invalid, NAME_AND_COMMENT, oneOf, range } from "./rules.js";
import type { FamilyDescriptor, TemplateBody } from "./types.js";

/** Legacy switch objects, and the checks each one turns on. */
export const LEGACY_CONFIGURES: Record<string, InspectCheck[] | undefined> = {
  JitterConfigure: undefined,
  BlurConfigure: ["Blur"],
  AbnormalLightingConfigure: ["LowLighting", "HighLighting"],
  CrashScreenConfigure: undefined,
  BlackWhiteEdgeConfigure: ["BlackWhiteEdge", "SolidColorScreen"],
  NoiseConfigure: ["Noise"],
  MosaicConfigure: undefined,
  QRCodeConfigure: undefined,
  QualityEvaluationConfigure: undefined,
  VoiceConfigure: ["NoVoice", "LowVoice", "HighVoice"],
};

/** Stream presence is always reported (Output.NoAudio / NoVideo); these Types only name it. */
const STREAM_CHECKS = ["AudioStreamLack", "VideoStreamLack"];

const DEFAULTS: TemplateBody = {
  Name: "",
  Comment: "",
  Configs: [],
  ScreenshotInterval: 1,
  ...Object.fromEntries(Object.keys(LEGACY_CONFIGURES).map((k) => [k, null])),
};

function validate(b: TemplateBody): void {
  checkFields(b, { ...NAME_AND_COMMENT, ScreenshotInterval: range(1, 3600) });
  const configs: TemplateBody[] = b.Configs ?? [];
  if (configs.length > 100) throw invalid("Configs", "Configs may have at most 100 items.");
  configs.forEach((c, i) => {
    const path = `Configs.${i}.`;
    checkFields(
      c,
      {
        Switch: oneOf("ON", "OFF"),
        Sampling: oneOf("Time"),
        IntervalTime: range(40, 3_600_000),
        Duration: range(0, 86_400_000),
      },
      path,
    );
    const known = (INSPECT_CHECKS as readonly string[]).includes(c.Type) || STREAM_CHECKS.includes(c.Type);
    if (!known && c.Switch !== "OFF")
      throw invalid(
        "Type",
        `${path}Type ${JSON.stringify(c.Type)} is not a check openvod can run with ffmpeg's detectors; ` +
          `it runs ${[...INSPECT_CHECKS, ...STREAM_CHECKS].join(", ")}.`,
      );
    if (c.Threshold !== undefined && c.Threshold !== "" && !Number.isFinite(Number(c.Threshold)))
      throw invalid("Threshold", `${path}Threshold must be a number; got ${JSON.stringify(c.Threshold)}.`);
  });
  for (const [field, checks] of Object.entries(LEGACY_CONFIGURES)) {
    const v = b[field];
    if (v === null || v === undefined) continue;
    checkFields(v, { Switch: oneOf("ON", "OFF") }, `${field}.`);
    if (!checks && v.Switch === "ON")
      throw invalid(
        "Switch",
        `${field}: openvod has no detector for this check (it needs a model or a code reader ffmpeg lacks).`,
      );
  }
  const s = b.Strategy;
  if (s) {
    checkFields(s, { StrategyType: oneOf("TimeSpotCheck") }, "Strategy.");
    checkFields(
      s.TimeSpotCheck,
      {
        CheckDuration: range(10, 86400),
        CheckInterval: range(10, 3600),
        SkipDuration: range(1, 1800),
        CirclesNumber: range(0, 1000),
      },
      "Strategy.TimeSpotCheck.",
    );
  }
}

export const qualityInspect: FamilyDescriptor = {
  family: "QualityInspect",
  keyField: "Definition",
  maxCustom: 100,
  presets: [],
  ...mergeFamily(DEFAULTS),
  validate,
};

export interface InspectPlan {
  checks: Partial<Record<InspectCheck, { threshold: number; minDuration: number }>>;
  sampleInterval: number;
  windows?: Array<[number, number]>;
}

/** What a template asks the inspect job to do, for a source of `duration` seconds. */
export function inspectPlan(t: TemplateBody, duration: number): InspectPlan {
  const checks: InspectPlan["checks"] = {};
  let interval: number = t.ScreenshotInterval ?? 1;
  for (const [field, list] of Object.entries(LEGACY_CONFIGURES))
    if (t[field]?.Switch === "ON")
      for (const c of list ?? []) checks[c] = { threshold: DEFAULT_THRESHOLDS[c], minDuration: 1 };
  for (const c of (t.Configs ?? []) as TemplateBody[]) {
    if (c.Switch === "OFF" || !(INSPECT_CHECKS as readonly string[]).includes(c.Type)) continue;
    const type = c.Type as InspectCheck;
    const threshold =
      c.Threshold !== undefined && c.Threshold !== "" ? Number(c.Threshold) : DEFAULT_THRESHOLDS[type];
    checks[type] = { threshold, minDuration: c.Duration !== undefined ? c.Duration / 1000 : 1 };
    if (c.IntervalTime) interval = Math.min(interval, c.IntervalTime / 1000);
  }
  const plan: InspectPlan = { checks, sampleInterval: interval };
  const spot = t.Strategy?.StrategyType === "TimeSpotCheck" ? t.Strategy.TimeSpotCheck : undefined;
  if (spot) {
    const windows: Array<[number, number]> = [];
    const len = spot.CheckDuration ?? 60;
    const step = len + (spot.CheckInterval ?? 60);
    const rounds = spot.CirclesNumber || Infinity;
    for (let at = spot.SkipDuration ?? 0, n = 0; at < duration && n < rounds; at += step, n++)
      windows.push([at, at + len]);
    plan.windows = windows;
  }
  return plan;
}
