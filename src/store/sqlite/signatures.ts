// Signature uses (src/store/signatures.ts), embedded store: each call in a transaction of its own.
import type { Signatures } from "../concepts.js";
import * as sig from "../signatures.js";
import type { SqliteDb } from "./db.js";

export function signatures(d: SqliteDb): Signatures {
  return {
    async useSignature(u) {
      return d.proc(sig.useSignature(u));
    },
    async signatureUsed(kind, sign) {
      return d.proc(sig.signatureUsed(kind, sign));
    },
    async purgeSignatureUses(expiredBefore) {
      return d.proc(sig.purgeSignatureUses(expiredBefore));
    },
  };
}
