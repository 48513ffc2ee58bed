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
});
