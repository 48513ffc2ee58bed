import { createHash } from 'node:crypto';
import { CONFIG_HASH_TAG, configHash, sha256 } from './config-hash';
import { opamp } from './opamp-schema';

/**
 * Independent reference: assemble the documented byte layout by hand with
 * DataView (not the module's helpers) and hash it with a separate createHash.
 */
function referenceHash(entries: Array<[string, string, string]>): string {
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [enc.encode('opamp-config-hash/v1\n')];
  const u64 = (n: number) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setUint32(4, n);
    return b;
  };
  chunks.push(u64(entries.length));
  for (const [name, contentType, body] of entries) {
    for (const part of [name, contentType, body]) {
      const bytes = enc.encode(part);
      chunks.push(u64(bytes.length), bytes);
    }
  }
  const h = createHash('sha256');
  chunks.forEach((c) => h.update(c));
  return h.digest('hex');
}

const file = (body: string, contentType = '') => ({ body: Buffer.from(body), contentType });

describe('configHash', () => {
  it('returns 32 bytes', () => {
    expect(configHash({ configMap: {} }).length).toBe(32);
  });

  it('matches an independently assembled reference (entries in byte order)', () => {
    const map = { configMap: { 'b.yaml': file('y: 2', 'text/yaml'), 'a.yaml': file('x: 1', 'text/yaml') } };
    expect(configHash(map).toString('hex')).toBe(
      referenceHash([
        ['a.yaml', 'text/yaml', 'x: 1'],
        ['b.yaml', 'text/yaml', 'y: 2'],
      ]),
    );
  });

  it('pins a known vector (single unnamed file), computed once with Python hashlib + big-endian struct.pack over the documented bytes', () => {
    // bytes: 'opamp-config-hash/v1\n' u64be(1) ; u64be(0) "" ; u64be(9) "text/yaml" ; u64be(11) "receivers: "
    const pinned = 'f5fcaadb532966a0a9afdee657143b49478cdc45829353ff8645070824f877c2';
    const map = { configMap: { '': file('receivers: ', 'text/yaml') } };
    expect(referenceHash([['', 'text/yaml', 'receivers: ']])).toBe(pinned);
    expect(configHash(map).toString('hex')).toBe(pinned);
  });

  it('does not depend on key insertion order', () => {
    const a = { configMap: { x: file('1'), y: file('2'), z: file('3') } };
    const b = { configMap: { z: file('3'), x: file('1'), y: file('2') } };
    expect(configHash(a).equals(configHash(b))).toBe(true);
  });

  it('sorts names by UTF-8 bytes, not by UTF-16 code units', () => {
    // U+FF5E (3 UTF-8 bytes, EF BD 9E) sorts before U+1F600 (F0 9F 98 80) in bytes,
    // but after it in JS string order (0xFF5E > 0xD83D).
    const names = ['\u{1F600}', '\uFF5E'];
    expect([...names].sort()).toEqual(['\u{1F600}', '\uFF5E']);
    const map = { configMap: { [names[0]]: file('a'), [names[1]]: file('b') } };
    expect(configHash(map).toString('hex')).toBe(
      referenceHash([
        ['\uFF5E', '', 'b'],
        ['\u{1F600}', '', 'a'],
      ]),
    );
  });

  it('changes when only the content type changes', () => {
    expect(configHash({ configMap: { c: file('x', 'text/yaml') } }).equals(configHash({ configMap: { c: file('x', 'application/json') } }))).toBe(false);
  });

  it('changes when a body changes by one byte', () => {
    expect(configHash({ configMap: { c: file('x: 1') } }).equals(configHash({ configMap: { c: file('x: 2') } }))).toBe(false);
  });

  it('does not collide by concatenation: ("a","bc") vs ("ab","c")', () => {
    const one = configHash({ configMap: { a: file('bc') } });
    const two = configHash({ configMap: { ab: file('c') } });
    expect(one.equals(two)).toBe(false);
    // and across the content-type/body boundary
    expect(configHash({ configMap: { k: file('b', 'a') } }).equals(configHash({ configMap: { k: file('', 'ab') } }))).toBe(false);
  });

  it('does not collide between one file and two files with the same bytes', () => {
    const merged = configHash({ configMap: { a: file('') } });
    const split = configHash({ configMap: { a: file(''), b: file('') } });
    expect(merged.equals(split)).toBe(false);
  });

  it('is stable for an empty map, an absent map and a generated empty message', () => {
    const empty = referenceHash([]);
    expect(configHash({ configMap: {} }).toString('hex')).toBe(empty);
    expect(configHash({}).toString('hex')).toBe(empty);
    expect(configHash(opamp.proto.v1.AgentConfigMap.create()).toString('hex')).toBe(empty);
  });

  it('treats missing body/content_type like empty ones (what the wire would carry)', () => {
    expect(configHash({ configMap: { a: {} } }).equals(configHash({ configMap: { a: file('', '') } }))).toBe(true);
  });

  it('hashes a decoded AgentConfigMap the same as the plain object it came from', () => {
    const plain = { configMap: { b: file('2', 't'), a: file('1', 't') } };
    const decoded = opamp.proto.v1.AgentConfigMap.decode(opamp.proto.v1.AgentConfigMap.encode(plain).finish());
    expect(configHash(decoded).equals(configHash(plain))).toBe(true);
  });

  it('uses the documented tag', () => {
    expect(CONFIG_HASH_TAG).toBe('opamp-config-hash/v1\n');
  });
});

describe('sha256', () => {
  it('matches the FIPS 180-2 "abc" vector, across split parts', () => {
    const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(sha256('abc').toString('hex')).toBe(abc);
    expect(sha256(Buffer.from('a'), 'b', Uint8Array.of(0x63)).toString('hex')).toBe(abc);
  });
});
