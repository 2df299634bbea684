// Media-processing templates: presets (in code, visible to every application) plus each
// application's custom templates (in the store). One engine does Create/Describe/Modify/Delete
// for every family; a FamilyDescriptor (families.ts, watermark.ts, procedure.ts) holds what
// differs. Other modules look templates up with findTemplate.
import { ApiError, errors } from "../../protocol/errors.js";
import type { TemplateRow } from "../../store/types.js";
import type { Deps } from "../deps.js";
import { isoTime } from "../ids.js";
import { MEDIA_FAMILIES } from "./families.js";
import { PRESET_TIME } from "./presets.js";
import { checkMediaProcessTask, procedure } from "./procedure.js";
import { checkFields, invalid, oneOf, range } from "./rules.js";
import type { FamilyContext, FamilyDescriptor, TemplateBody, TemplateFamily } from "./types.js";
import { watermark } from "./watermark.js";
import { blindWatermark } from "./blindWatermark.js";
import { qualityInspect } from "./qualityInspect.js";
import { enhanceMedia, rebuildMedia } from "./rebuild.js";
import { aiAnalysis, aiRecognition, review } from "./ai.js";

export type { FamilyDescriptor, TemplateBody, TemplateFamily } from "./types.js";
export { containerType, FFMPEG_AUDIO_ENCODER, FFMPEG_VIDEO_ENCODERS } from "./av.js";
export { WATERMARK_FONTS } from "./watermark.js";

/** Custom Definitions start here, above every preset, so the two never collide. */
export const CUSTOM_DEFINITION_FLOOR = 200000;

/** Every template family; the compiler refuses a TemplateFamily without its descriptor. */
export const FAMILIES: Readonly<Record<TemplateFamily, FamilyDescriptor>> = {
  ...MEDIA_FAMILIES,
  Watermark: watermark,
  Procedure: procedure,
  QualityInspect: qualityInspect,
  RebuildMedia: rebuildMedia,
  EnhanceMedia: enhanceMedia,
  AIRecognition: aiRecognition,
  AIAnalysis: aiAnalysis,
  Review: review,
  BlindWatermark: blindWatermark,
} satisfies Record<TemplateFamily, FamilyDescriptor>;

for (const [name, d] of Object.entries(FAMILIES))
  if (d.family !== name) throw new Error(`template family ${name} names itself ${d.family}`);

const PRESET_INDEX = new Map(
  Object.values(FAMILIES).map((d) => [d.family, new Map(d.presets.map((p) => [String(p[d.keyField]), p]))]),
);

function presetOf(d: FamilyDescriptor, key: string): TemplateBody | undefined {
  return PRESET_INDEX.get(d.family)!.get(key);
}

function toView(deps: Deps, d: FamilyDescriptor, body: TemplateBody, row?: TemplateRow): TemplateBody {
  const v: TemplateBody = {
    ...body,
    CreateTime: isoTime(row ? row.createTime : PRESET_TIME),
    UpdateTime: isoTime(row ? row.updateTime : PRESET_TIME),
  };
  if (!d.kindType) v.Type = row ? "Custom" : "Preset";
  return d.view ? d.view(v, deps) : v;
}

/** Drops the private "_" keys a Describe item must not show. */
function publicView(v: TemplateBody): TemplateBody {
  return Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith("_")));
}

/**
 * The template as the family's Describe action would show it (spec item shape: e.g.
 * TranscodeTemplate with Definition as a STRING, Type "Preset" | "Custom", CreateTime...), plus
 * private keys starting with "_" (e.g. "_imageKey", the watermark image's blob key) that
 * Describe strips; undefined when the app has no such template. Presets are visible to every
 * app. Optional fields a client left unset (e.g. VideoTemplate.Vcrf, Bframes) are absent here
 * and mean "automatic".
 */
export async function findTemplate(
  deps: Deps,
  appId: number,
  family: TemplateFamily,
  key: number | string,
): Promise<Record<string, any> | undefined> {
  const d = FAMILIES[family];
  const preset = presetOf(d, String(key));
  if (preset) return toView(deps, d, preset);
  const row = await deps.store.getTemplate(appId, family, String(key));
  return row && toView(deps, d, row.body, row);
}

function context(deps: Deps, appId: number): FamilyContext {
  return { deps, appId, find: (family, key) => findTemplate(deps, appId, family, key) };
}

/**
 * Checks every template Definition a MediaProcessTask (ProcessMedia, procedures) names exists
 * for the application; throws InvalidParameterValue.Definition naming the first that does not.
 */
export async function checkMediaProcessTaskDefinitions(
  deps: Deps,
  appId: number,
  task: Record<string, any> | undefined,
  path = "MediaProcessTask.",
): Promise<void> {
  await checkMediaProcessTask(context(deps, appId).find, task, path);
}

// Creating allocates a Definition and counts templates before it writes: one application's
// template writes run one at a time in this process.
const appLocks = new Map<number, Promise<unknown>>();

async function serialized<T>(appId: number, fn: () => Promise<T>): Promise<T> {
  const run = (appLocks.get(appId) ?? Promise.resolve()).then(fn, fn);
  const tail = run.catch(() => undefined);
  appLocks.set(appId, tail);
  try {
    return await run;
  } finally {
    if (appLocks.get(appId) === tail) appLocks.delete(appId);
  }
}

const byName = (d: FamilyDescriptor) => d.keyField === "Name";

function notFound(d: FamilyDescriptor, key: string): ApiError {
  return byName(d)
    ? errors.procedureNameNotExist(`The procedure template ${key} does not exist.`)
    : invalid("Definition", `The ${d.family} template ${key} does not exist.`);
}

/** The custom template a Modify/Delete addresses; presets and unknown keys are refused. */
async function customRow(
  deps: Deps,
  appId: number,
  d: FamilyDescriptor,
  key: string,
  verb: "Modify" | "Delete",
) {
  if (presetOf(d, key))
    throw invalid(
      `${verb}DefaultTemplate`,
      `The preset ${d.family} template ${key} cannot be ${verb === "Modify" ? "changed" : "deleted"}.`,
    );
  const row = await deps.store.getTemplate(appId, d.family, key);
  if (!row) throw notFound(d, key);
  return row;
}

function createOutput(d: FamilyDescriptor, view: TemplateBody): Record<string, unknown> {
  if (byName(d)) return {};
  return { Definition: Number(view.Definition), ...d.output?.(view) };
}

/** Stores a new template; its key taken meanwhile (another API process) is the Name error. */
async function save(deps: Deps, d: FamilyDescriptor, row: TemplateRow): Promise<void> {
  let inserted: boolean;
  try {
    inserted = await deps.store.insertTemplate(row);
  } catch (err) {
    await d.release?.(row.body, deps).catch(() => undefined);
    throw err;
  }
  if (!inserted) {
    await d.release?.(row.body, deps).catch(() => undefined);
    // Definitions come from a sequence: only a Name can be taken.
    throw byName(d) ? nameTaken(row.key) : errors.internalError();
  }
}

const nameTaken = (name: string) =>
  errors.existedProcedureName(`A procedure template named ${name} already exists.`);

export async function createTemplate(
  deps: Deps,
  appId: number,
  family: TemplateFamily,
  params: Record<string, any>,
): Promise<Record<string, unknown>> {
  const d = FAMILIES[family];
  const ctx = context(deps, appId);
  let body = d.fromCreate(params);
  await d.validate(body, ctx);
  return serialized(appId, async () => {
    // The first answer; save()'s insert decides between processes creating the same Name at once.
    if (byName(d) && (await ctx.find(family, body.Name))) throw nameTaken(body.Name);
    if ((await deps.store.listTemplates(appId, family)).length >= d.maxCustom)
      throw errors.limitExceeded(
        "TooMuchTemplate",
        `An application may have at most ${d.maxCustom} custom ${family} templates.`,
      );
    if (!byName(d))
      body = { Definition: await deps.store.nextTemplateDefinition(appId, CUSTOM_DEFINITION_FLOOR), ...body };
    if (d.persist) body = await d.persist(body, undefined, ctx);
    const now = deps.now();
    const row: TemplateRow = {
      appId,
      family,
      key: String(body[d.keyField]),
      body,
      createTime: now,
      updateTime: now,
    };
    await save(deps, d, row);
    return createOutput(d, toView(deps, d, body, row));
  });
}

/** Modify (or, for procedures, Reset): the stored body with the request's changes. */
export async function modifyTemplate(
  deps: Deps,
  appId: number,
  family: TemplateFamily,
  params: Record<string, any>,
): Promise<Record<string, unknown>> {
  const d = FAMILIES[family];
  const ctx = context(deps, appId);
  const key = String(params[d.keyField]);
  return serialized(appId, async () => {
    const row = await customRow(deps, appId, d, key, "Modify");
    let body = { ...d.applyModify(row.body, params), [d.keyField]: row.body[d.keyField] };
    await d.validate(body, ctx);
    if (d.persist) body = await d.persist(body, row.body, ctx);
    const updated = { ...row, body, updateTime: deps.now() };
    await deps.store.putTemplate(updated);
    return d.output?.(toView(deps, d, body, updated)) ?? {};
  });
}

export async function deleteTemplate(
  deps: Deps,
  appId: number,
  family: TemplateFamily,
  key: number | string,
): Promise<void> {
  const d = FAMILIES[family];
  await serialized(appId, async () => {
    const row = await customRow(deps, appId, d, String(key), "Delete");
    await deps.store.deleteTemplate(appId, family, row.key);
    await d.release?.(row.body, deps);
  });
}

const MAX_FILTER_KEYS = 100;

/** SortBy of DescribeProcedureTemplates: CreateTime only (the docs' example spells it create_time). */
function sorter(sortBy: Array<{ Field: string; Order: string }> | undefined) {
  if (!sortBy?.length) return undefined;
  const [s] = sortBy;
  checkFields(s, { Field: [oneOf("CreateTime", "create_time"), "Sort"] }, "SortBy.0.");
  const order = String(s!.Order).toLowerCase();
  if (order !== "asc" && order !== "desc")
    throw invalid("Sort", `SortBy.0.Order must be Asc or Desc; got "${s!.Order}".`);
  const sign = order === "asc" ? 1 : -1;
  return (a: TemplateBody, b: TemplateBody) =>
    sign * String(a.CreateTime).localeCompare(String(b.CreateTime));
}

/** Describe<Family>Templates: presets then custom templates, filtered and paged. */
export async function describeTemplates(
  deps: Deps,
  appId: number,
  family: TemplateFamily,
  params: Record<string, any>,
): Promise<Record<string, unknown>> {
  const d = FAMILIES[family];
  const { Offset = 0, Limit = 10, Type } = params;
  checkFields({ Limit }, { Limit: range(1, 100) });
  const keysParam = byName(d) ? "Names" : "Definitions";
  const keys: Array<number | string> | undefined = params[keysParam];
  if (keys && keys.length > MAX_FILTER_KEYS)
    throw invalid(keysParam, `${keysParam} may name at most ${MAX_FILTER_KEYS} templates.`);
  if (!d.kindType) checkFields(params, { Type: oneOf("Preset", "Custom") });
  const keep = d.filter?.(params) ?? (() => true);
  const compare = sorter(params.SortBy);

  const views: TemplateBody[] = [];
  if (d.kindType || Type !== "Custom") views.push(...d.presets.map((p) => toView(deps, d, p)));
  if (d.kindType || Type !== "Preset")
    for (const row of await deps.store.listTemplates(appId, family))
      views.push(toView(deps, d, row.body, row));

  const wanted = keys && new Set(keys.map(String));
  let matching = views.filter((v) => (!wanted || wanted.has(String(v[d.keyField]))) && keep(v));
  if (compare) matching = [...matching].sort(compare);
  return {
    TotalCount: matching.length,
    [d.setField ?? `${family}TemplateSet`]: matching.slice(Offset, Offset + Limit).map(publicView),
  };
}
