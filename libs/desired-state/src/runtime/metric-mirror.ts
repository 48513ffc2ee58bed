/** Prometheus counters mirrored from the plain numbers the runtime keeps (read at scrape time). */
import { Counter, type Registry } from 'prom-client';

/** A counter whose value is read from a plain number at scrape time. */
export function mirrorCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}
