// Signatures that only so many may use, recorded in the store so that a restart or another API
// process cannot grant a use twice: a one-time client upload signature starts one upload
// session, a Key hotlink URL with rlimit serves that many client IPs. A granted use is never
// taken back while its signature is valid, so each process remembers the ones it granted and
// asks the store only about new ones (a player fetching segments asks once).
import type { Store } from "../store/types.js";

const MAX_REMEMBERED = 10_000;

export class SignatureUses {
  private readonly granted = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly kind: string,
  ) {}

  /** True when `user` may use the signature (already one of its at most `max` users, or now). */
  async use(sign: string, user: string, max: number, expireSec: number, nowMs: number): Promise<boolean> {
    const k = `${sign}\n${user}`;
    const until = this.granted.get(k);
    if (until !== undefined && until >= nowMs) return true;
    const expireTime = expireSec * 1000;
    if (!(await this.store.useSignature({ kind: this.kind, sign, user, max, expireTime }))) return false;
    if (this.granted.size >= MAX_REMEMBERED) {
      for (const [key, t] of this.granted) if (t < nowMs) this.granted.delete(key);
      if (this.granted.size >= MAX_REMEMBERED) this.granted.clear();
    }
    this.granted.set(k, expireTime);
    return true;
  }

  /** Whether anyone has used the signature. */
  used(sign: string): Promise<boolean> {
    return this.store.signatureUsed(this.kind, sign);
  }
}
