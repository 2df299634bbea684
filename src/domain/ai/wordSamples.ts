// Word samples: the keywords an application's OCR recognition and keyword review look for
// (CreateWordSamples, DescribeWordSamples, ModifyWordSample, DeleteWordSamples).
import { errors } from "../../protocol/errors.js";
import type { WordSampleRow } from "../../store/types.js";
import type { Deps } from "../deps.js";
import { isoTime } from "../ids.js";

export const WORD_USAGES = ["Recognition.Ocr", "Recognition.Asr", "Review.Ocr", "Review.Asr"] as const;
export type WordUsage = (typeof WORD_USAGES)[number];

const SHORTHANDS: Record<string, readonly WordUsage[]> = {
  Recognition: ["Recognition.Ocr", "Recognition.Asr"],
  Review: ["Review.Ocr", "Review.Asr"],
  All: WORD_USAGES,
};

/**
 * The usages named (shorthands expanded), in canonical order; an unknown one is refused. Word
 * and person samples share it, each with its own usages and shorthands.
 */
export function expandUsagesOf<U extends string>(
  all: readonly U[],
  shorthands: Record<string, readonly U[]>,
  usages: readonly string[],
  field = "Usages",
): U[] {
  const set = new Set<U>();
  for (const u of usages) {
    const expanded = shorthands[u] ?? ((all as readonly string[]).includes(u) ? [u as U] : undefined);
    if (!expanded) {
      throw errors.invalidParameterValue(
        field,
        `${field} value ${JSON.stringify(u)} is not one of ${[...all, ...Object.keys(shorthands)].join(", ")}.`,
      );
    }
    for (const e of expanded) set.add(e);
  }
  return all.filter((u) => set.has(u));
}

export const expandUsages = (usages: readonly string[], field = "Usages"): WordUsage[] =>
  expandUsagesOf(WORD_USAGES, SHORTHANDS, usages, field);

/** Sample tags: at most 20, each 1 to 128 characters; repeats dropped. */
export function checkTags(tags: readonly string[], field: string): string[] {
  if (tags.length > 20) throw errors.invalidParameterValue(field, `${field}: at most 20 tags.`);
  for (const t of tags) {
    if (t.length === 0 || [...t].length > 128) {
      throw errors.invalidParameterValue(field, `${field}: a tag is 1 to 128 characters.`);
    }
  }
  return [...new Set(tags)];
}

/** A TagOperationInfo (add, delete or reset) applied to a sample's tags. */
export function applyTagOperation(tags: string[], op: { Type?: string; Tags?: string[] }): string[] {
  const given = checkTags(op.Tags ?? [], "TagOperationInfo.Tags");
  let out: string[];
  if (op.Type === "add") out = [...new Set([...tags, ...given])];
  else if (op.Type === "delete") out = tags.filter((t) => !given.includes(t));
  else if (op.Type === "reset") out = given;
  else
    throw errors.invalidParameterValue("TagOperationInfo", "TagOperationInfo.Type is add, delete or reset.");
  return checkTags(out, "TagOperationInfo.Tags");
}

export function wordSampleView(r: WordSampleRow) {
  return {
    Keyword: r.keyword,
    TagSet: r.tags,
    UsageSet: r.usages,
    CreateTime: isoTime(r.createTime),
    UpdateTime: isoTime(r.updateTime),
  };
}

export async function createWordSamples(
  deps: Deps,
  appId: number,
  usages: readonly string[],
  words: readonly { Keyword?: string; Tags?: string[] }[],
): Promise<void> {
  const u = expandUsages(usages);
  if (u.length === 0) throw errors.invalidParameterValue("Usages", "Usages must name at least one usage.");
  if (words.length === 0 || words.length > 100) {
    throw errors.invalidParameterValue("Words", "Words holds 1 to 100 keywords.");
  }
  const now = deps.now();
  const seen = new Set<string>();
  const rows: WordSampleRow[] = words.map((w, i) => {
    const keyword = (w.Keyword ?? "").trim();
    if (keyword.length === 0 || [...keyword].length > 20) {
      throw errors.invalidParameterValue("Keyword", `Words.${i}.Keyword must be 1 to 20 characters.`);
    }
    if (seen.has(keyword)) {
      throw errors.invalidParameterValue("Keyword", `The keyword ${keyword} appears twice in Words.`);
    }
    seen.add(keyword);
    return {
      appId,
      keyword,
      usages: u,
      tags: checkTags(w.Tags ?? [], `Words.${i}.Tags`),
      createTime: now,
      updateTime: now,
    };
  });
  const existing = await deps.store.insertWordSamples(rows);
  if (existing.length > 0) {
    throw errors.invalidParameterValue("Keyword", `These keywords already exist: ${existing.join(", ")}.`);
  }
}

/** One page of a sample list: Offset (default 0), Limit 1 to 100 (default 100). */
export function pageOf<T>(rows: T[], f: { Offset?: number; Limit?: number }): T[] {
  const limit = f.Limit ?? 100;
  if (limit < 1 || limit > 100) throw errors.invalidParameterValue("Limit", "Limit is 1 to 100.");
  const offset = f.Offset ?? 0;
  return rows.slice(offset, offset + limit);
}

export interface WordSampleFilter {
  Usages?: string[];
  Keywords?: string[];
  Tags?: string[];
  Offset?: number;
  Limit?: number;
}

export async function describeWordSamples(deps: Deps, appId: number, f: WordSampleFilter) {
  if ((f.Keywords?.length ?? 0) > 100)
    throw errors.invalidParameterValue("Keywords", "At most 100 keywords.");
  if ((f.Tags?.length ?? 0) > 20) throw errors.invalidParameterValue("Tags", "At most 20 tags.");
  const usages = f.Usages?.length ? new Set(expandUsages(f.Usages)) : undefined;
  const keywords = f.Keywords?.length ? new Set(f.Keywords) : undefined;
  const tags = f.Tags?.length ? new Set(f.Tags) : undefined;
  const all = (await deps.store.listWordSamples(appId)).filter(
    (r) =>
      (!usages || r.usages.some((u) => usages.has(u as WordUsage))) &&
      (!keywords || keywords.has(r.keyword)) &&
      (!tags || r.tags.some((t) => tags.has(t))),
  );
  return { TotalCount: all.length, WordSet: pageOf(all, f).map(wordSampleView) };
}

export async function modifyWordSample(
  deps: Deps,
  appId: number,
  keyword: string,
  usages: string[] | undefined,
  op: { Type?: string; Tags?: string[] } | undefined,
): Promise<void> {
  const current = (await deps.store.listWordSamples(appId)).find((r) => r.keyword === keyword);
  if (!current) throw errors.resourceNotFound("Keyword", `The keyword ${keyword} does not exist.`);
  const tags = op ? applyTagOperation(current.tags, op) : current.tags;
  const u = usages?.length ? expandUsages(usages) : current.usages;
  const ok = await deps.store.updateWordSample({ ...current, usages: u, tags, updateTime: deps.now() });
  if (!ok) throw errors.resourceNotFound("Keyword", `The keyword ${keyword} does not exist.`);
}

export async function deleteWordSamples(deps: Deps, appId: number, keywords: string[]): Promise<void> {
  if (keywords.length === 0 || keywords.length > 100) {
    throw errors.invalidParameterValue("Keywords", "Keywords holds 1 to 100 keywords.");
  }
  await deps.store.deleteWordSamples(appId, keywords);
}

/** The application's keywords for one usage (e.g. Review.Ocr). */
export async function wordsFor(deps: Deps, appId: number, usage: WordUsage): Promise<WordSampleRow[]> {
  return (await deps.store.listWordSamples(appId)).filter((r) => r.usages.includes(usage));
}
