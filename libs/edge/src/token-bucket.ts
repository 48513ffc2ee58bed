/**
 * Token bucket: `ratePerSecond` tokens refill continuously up to `burst`.
 * Used per connection (message rate) and per gateway (upgrade admission).
 * The clock is injected so the math is testable without waiting.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Takes `n` tokens (one by default: a message, an upgrade; bytes for a download's bandwidth) if there are that many. */
  tryTake(n = 1): boolean {
    const t = this.now();
    const elapsed = t - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.ratePerSecond) / 1000);
      this.last = t;
    }
    if (this.tokens >= n) {
      this.tokens -= n;
      return true;
    }
    return false;
  }

  /** Milliseconds until `n` tokens are available (0 if they are). */
  msUntilNextToken(n = 1): number {
    if (this.tokens >= n) return 0;
    return Math.ceil(((n - this.tokens) * 1000) / this.ratePerSecond);
  }
}
