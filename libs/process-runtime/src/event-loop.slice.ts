/**
 * A slice of event-loop time for a long synchronous stretch of work (rendering
 * a page of templated configurations, applying a batch of inbound records):
 * the work calls `turn()` between its steps, which lets other callbacks (a gateway's heartbeats, I/O) run once the
 * slice is used up, then starts a new one.
 */
export class EventLoopSlice {
  private started: number;
  /** Turns given to other work so far. */
  turns = 0;

  constructor(
    private readonly maxMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = now();
  }

  /** Returns at once while the slice lasts; past it, waits one turn of the event loop (after pending I/O and immediates). */
  async turn(): Promise<void> {
    if (this.now() - this.started < this.maxMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.turns++;
    this.started = this.now();
  }
}
