// Requests per second per account and action, as the cloud limits each action (100/s by
// default). A fixed one-second window per key: cheap, and exact enough for a limit that
// exists to protect the server, not to meter billing.
export class RateLimiter {
  private window = 0;
  private counts = new Map<string, number>();

  constructor(private readonly perSecond: number) {}

  /** True when the request may proceed. */
  take(key: string, nowMs: number): boolean {
    if (this.perSecond <= 0) return true;
    const w = Math.floor(nowMs / 1000);
    if (w !== this.window) {
      this.window = w;
      this.counts.clear();
    }
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    return n <= this.perSecond;
  }
}
