import { APPLIED, APPLYING, ConvergenceTracker, FAILED } from './convergence';

describe('ConvergenceTracker', () => {
  const even = (i: number) => i % 2 === 0;

  it('converges when every targeted agent reports APPLIED for the hash, timed from t0', () => {
    const t = new ConvergenceTracker(6);
    const h = t.hashId('ABCD');
    const other = t.hashId('ef01');
    const start = t.mark('abcd', 'env=prod', even, 1000);
    expect(start).toMatchObject({ hash: 'abcd', targeted: 3, applied: 0, pending: 3, converged: false });
    t.record(0, h, APPLYING, 1100);
    t.record(0, h, APPLIED, 1200);
    t.record(1, h, APPLIED, 1300); // not targeted
    t.record(2, other, APPLIED, 1400); // another hash
    expect(t.latest).toMatchObject({ applied: 1, pending: 2, converged: false });
    t.record(2, h, APPLIED, 1500);
    t.record(4, h, APPLIED, 1900);
    const done = t.latest!;
    expect(done).toMatchObject({ applied: 3, pending: 0, converged: true, convergenceMs: 900, settledMs: 900 });
    expect(done.appliedLatencyMs).toMatchObject({ count: 3, min: 200, max: 900 });
  });

  it('counts agents that applied before the mark at t0', () => {
    const t = new ConvergenceTracker(3);
    const h = t.hashId('aa');
    t.record(0, h, APPLIED, 500);
    t.record(1, h, APPLIED, 600);
    const s = t.mark('aa', '', () => true, 1000);
    expect(s).toMatchObject({ targeted: 3, applied: 2, converged: false });
    t.record(2, h, APPLIED, 1250);
    expect(t.latest).toMatchObject({ converged: true, convergenceMs: 250 });
    expect(t.latest!.appliedLatencyMs.min).toBe(0);
  });

  it('reports FAILED agents: settled but not converged, until a later APPLIED replaces the failure', () => {
    const t = new ConvergenceTracker(2);
    const h = t.hashId('bb');
    t.mark('bb', '', () => true, 0);
    t.record(0, h, APPLIED, 10);
    t.record(1, h, FAILED, 20);
    expect(t.latest).toMatchObject({ applied: 1, failed: 1, pending: 0, converged: false, settledMs: 20 });
    expect(t.latest!.convergenceMs).toBeUndefined();
    t.record(1, h, APPLIED, 40);
    expect(t.latest).toMatchObject({ applied: 2, failed: 0, converged: true, convergenceMs: 40 });
  });

  it('counts each agent once even if it moves to another hash and back', () => {
    const t = new ConvergenceTracker(2);
    const h = t.hashId('cc');
    const g = t.hashId('dd');
    t.mark('cc', '', () => true, 0);
    t.record(0, h, APPLIED, 5);
    t.record(0, g, APPLIED, 6);
    t.record(0, h, APPLIED, 7);
    expect(t.latest).toMatchObject({ applied: 1, pending: 1 });
  });

  it('keeps earlier measurements in its history', () => {
    const t = new ConvergenceTracker(1);
    t.mark('01', '', () => true, 0);
    t.mark('02', '', () => true, 10);
    expect(t.all().map((s) => s.hash)).toEqual(['01', '02']);
    expect(t.latest!.hash).toBe('02');
  });

  it('treats an empty target set as converged at once', () => {
    const t = new ConvergenceTracker(4);
    expect(t.mark('ff', 'x=y', () => false, 100)).toMatchObject({ targeted: 0, converged: true, convergenceMs: 0 });
  });
});
