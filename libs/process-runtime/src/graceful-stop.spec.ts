import { stopGracefullyOnSignals, type SignalTarget } from './graceful-stop';

function fakeProcess() {
  const listeners = new Map<string, () => void>();
  const exits: number[] = [];
  const target: SignalTarget = {
    on: (signal, listener) => listeners.set(signal, listener),
    exit: (code) => void exits.push(code),
  };
  return { target, exits, send: (signal: string) => listeners.get(signal)?.() };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('stopGracefullyOnSignals', () => {
  const options = { message: 'draining', fields: { windowMs: 100 }, failureMessage: 'shutdown failed' };

  it.each(['SIGTERM', 'SIGINT'])('stops once on %s, logs it and exits 0 when the stop is done', async (signal) => {
    const proc = fakeProcess();
    const log = jest.fn();
    const stop = jest.fn(() => Promise.resolve());
    stopGracefullyOnSignals(stop, log, options, proc.target);
    proc.send(signal);
    proc.send('SIGTERM');
    proc.send('SIGINT');
    await settled();
    expect(stop).toHaveBeenCalledTimes(1);
    expect(log.mock.calls).toEqual([['info', 'draining', { signal, windowMs: 100 }]]);
    expect(proc.exits).toEqual([0]);
  });

  it('logs a failed stop and exits 1', async () => {
    const proc = fakeProcess();
    const log = jest.fn();
    stopGracefullyOnSignals(() => Promise.reject(new Error('kafka gone')), log, options, proc.target);
    proc.send('SIGTERM');
    await settled();
    expect(log).toHaveBeenLastCalledWith('error', 'shutdown failed', { error: 'Error: kafka gone' });
    expect(proc.exits).toEqual([1]);
  });

  it('does nothing before a signal', () => {
    const proc = fakeProcess();
    const stop = jest.fn(() => Promise.resolve());
    stopGracefullyOnSignals(stop, jest.fn(), options, proc.target);
    expect(stop).not.toHaveBeenCalled();
    expect(proc.exits).toEqual([]);
  });
});
