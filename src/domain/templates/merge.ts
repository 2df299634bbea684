// How request parameters become a template body: Create fills the documented defaults under the
// given fields, Modify merges the given fields into the stored body (nested objects field by
// field, lists replaced whole), as the cloud's *ForUpdate types describe.
import type { FamilyDescriptor, TemplateBody } from "./types.js";

const isObject = (v: unknown): v is Record<string, any> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export function deepMerge(base: TemplateBody, patch: TemplateBody): TemplateBody {
  const out: TemplateBody = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    out[k] = isObject(v) && isObject(base[k]) ? deepMerge(base[k], v) : v;
  }
  return out;
}

/** The template fields of a request: everything but the application and the key. */
export function payload(params: Record<string, any>): TemplateBody {
  const { SubAppId: _app, Definition: _key, ...rest } = params;
  return rest;
}

/** fromCreate/applyModify for a family whose request fields are its item fields. */
export function mergeFamily(
  defaults: TemplateBody,
  derive: (body: TemplateBody) => TemplateBody = (b) => b,
): Pick<FamilyDescriptor, "fromCreate" | "applyModify"> {
  return {
    fromCreate: (params) => derive(deepMerge(defaults, payload(params))),
    applyModify: (body, params) => derive(deepMerge(body, payload(params))),
  };
}
