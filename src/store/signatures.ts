// Uses of the signatures that only so many may use (one-time client upload signatures, Key
// hotlink URLs with rlimit), written once for both stores (see src/store/sql.ts). A use takes
// the next free slot of its signature by a plain insert that the table's two unique keys make
// atomic: of processes racing for one slot, one inserts and the others see its row and look
// again (each round either finds the user or sees the count grow, so it ends).
import { get, run, stmt, type Proc } from "./sql.js";
import type { SignatureUse } from "./types.js";

const S = {
  mine: stmt(
    "signatures.mine",
    "SELECT 1 AS hit FROM signature_uses WHERE kind = ? AND sign = ? AND user_key = ?",
  ),
  count: stmt("signatures.count", "SELECT COUNT(*) AS n FROM signature_uses WHERE kind = ? AND sign = ?"),
  take: stmt(
    "signatures.take",
    `INSERT INTO signature_uses (kind, sign, slot, user_key, expire_time) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT DO NOTHING`,
  ),
  purge: stmt("signatures.purge", "DELETE FROM signature_uses WHERE expire_time < ?"),
};

export function* useSignature(u: SignatureUse): Proc<boolean> {
  for (;;) {
    if (yield* get(S.mine, u.kind, u.sign, u.user)) return true;
    const n = Number((yield* get(S.count, u.kind, u.sign))!.n);
    // Full: unless the user's own racing request took a slot between the two reads (every row
    // counted is committed, so a second look sees it), the user has none.
    if (n >= u.max) return !!(yield* get(S.mine, u.kind, u.sign, u.user));
    if ((yield* run(S.take, u.kind, u.sign, n + 1, u.user, u.expireTime)) === 1) return true;
  }
}

export function* signatureUsed(kind: string, sign: string): Proc<boolean> {
  return Number((yield* get(S.count, kind, sign))!.n) > 0;
}

export function* purgeSignatureUses(expiredBefore: number): Proc<number> {
  return yield* run(S.purge, expiredBefore);
}
