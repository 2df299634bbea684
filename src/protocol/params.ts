// Form/query parameters arrive flattened the way the SDKs' mergeData writes them
// (`A.B.0.C=v`); unflatten rebuilds the nested structure.
//
// Numeric segments: an object whose keys are exactly "0".."n-1" (canonical integers, no gaps)
// becomes an array, as the SDK only ever produces such runs from arrays. Anything else
// (gaps, "01", mixed keys) stays an object with numeric-string keys, so nothing is silently
// reindexed; the schema validator decides whether that is acceptable for the field.

import { errors } from "./errors.js";

export const MAX_DEPTH = 16;
export const MAX_KEYS = 2000;

export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

type Node = Record<string, unknown>;

export function unflatten(pairs: Iterable<[string, string]>): Record<string, unknown> {
  const root: Node = {};
  let count = 0;
  for (const [key, value] of pairs) {
    if (++count > MAX_KEYS) throw errors.invalidParameter(`Too many parameters (more than ${MAX_KEYS}).`);
    const segs = key.split(".");
    if (segs.length > MAX_DEPTH) {
      throw errors.invalidParameter(`The parameter \`${key}\` is nested deeper than ${MAX_DEPTH} levels.`);
    }
    let node = root;
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i];
      if (seg === "" || FORBIDDEN_KEYS.has(seg))
        throw errors.invalidParameter(`The parameter name \`${key}\` is invalid.`);
      // Own-property checks only: inherited names such as "toString" are ordinary keys here.
      const has = Object.hasOwn(node, seg);
      const cur = has ? node[seg] : undefined;
      if (i === segs.length - 1) {
        if (has)
          throw errors.invalidParameter(
            `The parameter \`${key}\` is given more than once or conflicts with another.`,
          );
        node[seg] = value;
      } else if (!has) {
        node = node[seg] = {} as Node;
      } else if (typeof cur === "object") {
        node = cur as Node;
      } else {
        throw errors.invalidParameter(
          `The parameter \`${key}\` conflicts with \`${segs.slice(0, i + 1).join(".")}\`.`,
        );
      }
    }
  }
  // The root stays an object even if its keys are numeric: it is the parameter set, not a value.
  for (const k of Object.keys(root)) if (typeof root[k] === "object") root[k] = arrayify(root[k] as Node);
  return root;
}

function arrayify(node: Node): Node | unknown[] {
  const keys = Object.keys(node);
  for (const k of keys) if (typeof node[k] === "object") node[k] = arrayify(node[k] as Node);
  // Integer-like keys enumerate in ascending numeric order, so keys[i] === String(i) proves 0..n-1.
  return keys.every((k, i) => k === String(i)) ? keys.map((k) => node[k]) : node;
}
