import { ErrorSamples, MAX_SAMPLED_KINDS, MAX_SAMPLES_PER_KIND, foldMessage, formatErrorSamples, mergeErrorSamples } from './error-samples';

describe('error samples', () => {
  it('folds numbers so that one failure on many agents is one sample, counted', () => {
    const s = new ErrorSamples();
    s.record('transport', 'connect ECONNREFUSED 127.0.0.1:15100');
    s.record('transport', 'connect ECONNREFUSED 127.0.0.1:15102');
    s.record('transport', 'socket hang up');
    expect(s.snapshot()).toEqual({
      transport: [
        { message: 'connect ECONNREFUSED N.N.N.N:N', count: 2 },
        { message: 'socket hang up', count: 1 },
      ],
    });
  });

  it('keeps a bounded number of messages per kind and of kinds, and cuts long messages', () => {
    const s = new ErrorSamples();
    for (const word of ['a', 'b', 'c', 'd', 'e']) s.record('transport', `failure ${word}`);
    for (let k = 0; k < MAX_SAMPLED_KINDS + 4; k++) s.record(`kind${String.fromCharCode(97 + k)}`, 'x');
    const snap = s.snapshot();
    expect(snap['transport']).toHaveLength(MAX_SAMPLES_PER_KIND);
    expect(Object.keys(snap)).toHaveLength(MAX_SAMPLED_KINDS);
    expect(foldMessage('y'.repeat(500)).length).toBe(200);
  });

  it('merges the workers, adding counts of the same message and keeping the most frequent', () => {
    const merged = mergeErrorSamples([
      { transport: [{ message: 'socket hang up', count: 5 }, { message: 'read ECONNRESET', count: 1 }] },
      { transport: [{ message: 'read ECONNRESET', count: 7 }], decode: [{ message: 'bad frame', count: 2 }] },
    ]);
    expect(merged).toEqual({
      transport: [
        { message: 'read ECONNRESET', count: 8 },
        { message: 'socket hang up', count: 5 },
      ],
      decode: [{ message: 'bad frame', count: 2 }],
    });
    expect(formatErrorSamples(merged)).toEqual(['decode: "bad frame" ×2', 'transport: "read ECONNRESET" ×8, "socket hang up" ×5']);
  });
});
