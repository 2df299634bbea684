// Signature uses (src/store/signatures.ts), cluster store: the unique keys decide races between
// processes, so the statements run on the pool without a transaction around them.
import type { Signatures } from "../concepts.js";
import * as sig from "../signatures.js";
import type { PgDb } from "./db.js";

export function signatures(d: PgDb): Signatures {
  return {
    useSignature: (u) => d.procNoTx(sig.useSignature(u)),
    signatureUsed: (kind, sign) => d.procNoTx(sig.signatureUsed(kind, sign)),
    purgeSignatureUses: (expiredBefore) => d.procNoTx(sig.purgeSignatureUses(expiredBefore)),
  };
}
