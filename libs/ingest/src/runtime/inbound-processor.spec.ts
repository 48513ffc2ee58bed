import { EventLoopSlice } from '@opamp/process-runtime';
import { InboundProcessor, type InboundProcessorDeps, type RawRecord } from './inbound-processor';

/** Parts a batch of poisoned records never reaches (decoding fails before any I/O). */
const unused = new Proxy({}, { get: () => () => Promise.reject(new Error('not reached')) });

describe('inbound processor', () => {
  it('decodes a long batch in slices of loop time: other callbacks run before the batch is through', async () => {
    const order: string[] = [];
    let clock = 0;
    const deps: InboundProcessorDeps = {
      db: unused as InboundProcessorDeps['db'],
      cursors: unused as InboundProcessorDeps['cursors'],
      events: unused as InboundProcessorDeps['events'],
      pushes: unused as InboundProcessorDeps['pushes'],
      onPoisoned: () => order.push('poisoned'),
      // 1 ms a reading, a 20 ms slice: a turn about every 20 records.
      newSlice: () => new EventLoopSlice(20, () => clock++),
    };
    // Keys of the wrong length: each record is counted poisoned at decode.
    const batch: RawRecord[] = Array.from({ length: 100 }, () => ({ key: Buffer.alloc(3), value: Buffer.alloc(1) }));
    setImmediate(() => order.push('other callback'));
    const stats = await new InboundProcessor(deps).process(batch);
    expect(stats.poisoned).toBe(100);
    const other = order.indexOf('other callback');
    expect(other).toBeGreaterThan(0);
    expect(other).toBeLessThan(order.length - 1);
  });
});
