import { waitFor } from './wait-for';

describe('waitFor', () => {
  it('resolves with the first accepted value', async () => {
    let n = 0;
    const value = await waitFor(() => ++n, (v) => v >= 3, { intervalMs: 1 });
    expect(value).toBe(3);
  });

  it('fails with the last observed value after the timeout', async () => {
    await expect(waitFor(() => 'nope', (v) => v === 'yes', { timeoutMs: 30, intervalMs: 5, description: 'yes' })).rejects.toThrow(
      /waiting for yes \(last value "nope"\)/,
    );
  });

  it('ends at once on an error the caller marks final, and keeps probing through others', async () => {
    class Gone extends Error {}
    let n = 0;
    const probe = () => {
      n += 1;
      if (n < 3) throw new Error('not yet');
      throw new Gone('the process exited');
    };
    await expect(waitFor(probe, () => true, { timeoutMs: 10_000, intervalMs: 1, rethrow: (e) => e instanceof Gone })).rejects.toBeInstanceOf(Gone);
    expect(n).toBe(3);
  });
});
