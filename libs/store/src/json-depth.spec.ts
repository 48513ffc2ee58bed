import { nestsDeeperThan } from './json-depth';

describe('nestsDeeperThan', () => {
  it('counts arrays and objects, not brackets inside strings or escaped quotes', () => {
    expect(nestsDeeperThan('[[[]]]', 3)).toBe(false);
    expect(nestsDeeperThan('[[[[]]]]', 3)).toBe(true);
    expect(nestsDeeperThan('{"a":{"b":[1]}}', 3)).toBe(false);
    expect(nestsDeeperThan('{"a":{"b":[{}]}}', 3)).toBe(true);
    expect(nestsDeeperThan(JSON.stringify({ s: '[[[[[[[[' }), 3)).toBe(false);
    expect(nestsDeeperThan(JSON.stringify({ s: 'a"\\[[[[' }) + '[[[[', 3)).toBe(true);
    expect(nestsDeeperThan('[]'.repeat(1000), 1)).toBe(false);
  });

  it('measures text that never closes, as the parser recurses into it before it fails', () => {
    expect(nestsDeeperThan('['.repeat(300), 256)).toBe(true);
    expect(nestsDeeperThan('plain text', 0)).toBe(false);
  });
});
