import { postmasterPid } from './postmaster-leftovers';

describe('postmaster leftovers (pure parts)', () => {
  it('reads the pid on the first line of a postmaster.pid', () => {
    expect(postmasterPid('4242\n/data/pg\n1700000000\n5432\n')).toBe(4242);
    expect(postmasterPid('')).toBeNull();
    expect(postmasterPid('-1\n')).toBeNull();
    expect(postmasterPid('garbage\n')).toBeNull();
  });
});
