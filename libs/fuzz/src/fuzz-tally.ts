/** Owns the fuzzer's counts: outcomes per target and mutation kind, mergeable and printable. */
export type TallyTable = Record<string, Record<string, number>>;

export class FuzzTally {
  private readonly table = new Map<string, Map<string, number>>();

  /** Counts one `outcome` (e.g. `http 400`, `ws close 1002`, `timeout`) of mutation `kind`. */
  count(kind: string, outcome: string, n = 1): void {
    let row = this.table.get(kind);
    if (!row) this.table.set(kind, (row = new Map()));
    row.set(outcome, (row.get(outcome) ?? 0) + n);
  }

  get total(): number {
    let n = 0;
    for (const row of this.table.values()) for (const v of row.values()) n += v;
    return n;
  }

  /** Totals per outcome over every kind. */
  byOutcome(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const row of this.table.values()) for (const [o, v] of row) out[o] = (out[o] ?? 0) + v;
    return sortedRecord(out);
  }

  toJSON(): TallyTable {
    const out: TallyTable = {};
    for (const kind of [...this.table.keys()].sort()) out[kind] = sortedRecord(Object.fromEntries(this.table.get(kind) ?? []));
    return out;
  }
}

function sortedRecord(r: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
