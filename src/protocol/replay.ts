// Refuses a legacy-signed request (HmacSHA1/HmacSHA256) seen before within the signature window:
// the Nonce is what that style has against replays, and an accepted Timestamp stays valid for
// five minutes, so a captured request could otherwise be sent again until then.
//
// What is recorded is the signed request (SecretId, Timestamp, Nonce and its signature), not
// (SecretId, Nonce) alone: the SDKs draw the Nonce from 0..65535, so a busy client repeats one
// within minutes in requests that are not replays. A replay is the same signed bytes; any other
// request with the same Nonce has another signature. TC3 has no nonce, and identical TC3
// requests in the same second (a poll) are legitimate, so it is not recorded.
//
// The record is per API process, in memory, bounded: past MAX_ENTRIES the oldest entries go
// first, so a flood of validly signed requests (key holders only: it is filled after the
// signature check) weakens the check for the oldest ones instead of refusing everyone. In
// cluster mode a replay sent to another API process within the window is not caught; the
// store could share the record, at the cost of a write per legacy request.

const MAX_ENTRIES = 100_000;

export class ReplayRecord {
  /** Key → Unix second after which the request would be refused as expired anyway; insertion order. */
  private readonly seen = new Map<string, number>();

  constructor(private readonly maxEntries = MAX_ENTRIES) {}

  /** Records a request valid until `untilSec`; false when it was recorded already (a replay). */
  firstSeen(key: string, untilSec: number, nowSec: number): boolean {
    const until = this.seen.get(key);
    if (until !== undefined && until >= nowSec) return false;
    this.sweep(nowSec);
    this.seen.delete(key);
    this.seen.set(key, untilSec);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  private sweep(nowSec: number): void {
    // Entries arrive roughly in Timestamp order: the expired ones are at the front.
    for (const [key, until] of this.seen) {
      if (until >= nowSec && this.seen.size < this.maxEntries) break;
      this.seen.delete(key);
    }
  }
}
