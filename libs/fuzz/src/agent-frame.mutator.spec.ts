import { decodeAgentToServer, decodeWsMessage } from '@opamp/protocol';
import { decodeMutant, encodeNestedAnyValue, FRAME_MUTATIONS, mutateAgentMessage, STRUCTURAL_MUTATIONS } from './agent-frame.mutator';
import { seededRng } from './fuzz-draw';

const UID = Buffer.alloc(16, 7);

describe('mutateAgentMessage', () => {
  it('replays the same mutants from the same seed, and others from another', () => {
    const run = (seed: number) => {
      const rng = seededRng(seed);
      return Array.from({ length: 40 }, (_, i) => mutateAgentMessage(rng, UID, i).frame.toString('hex'));
    };
    expect(run(1)).toEqual(run(1));
    expect(run(2)).not.toEqual(run(1));
  });

  it('draws every mutation', () => {
    const rng = seededRng(3);
    const seen = new Set(Array.from({ length: 400 }, () => mutateAgentMessage(rng, UID, 1).mutation));
    expect([...seen].sort()).toEqual([...FRAME_MUTATIONS].sort());
  });

  it('keeps structural mutants decodable protobuf that still carries the hostile values', () => {
    const rng = seededRng(4);
    for (const mutation of STRUCTURAL_MUTATIONS.filter((m) => m !== 'deep-nesting')) {
      const m = mutateAgentMessage(rng, UID, 5, mutation);
      expect(decodeMutant(m.body)).toBeDefined();
      expect(m.frame[0]).toBe(0);
    }
    const hostile = Array.from({ length: 30 }, () => decodeMutant(mutateAgentMessage(rng, UID, 5, 'hostile-values').body));
    const texts = hostile.flatMap((m) => [m.health?.lastError ?? '', m.remoteConfigStatus?.errorMessage ?? '']);
    expect(texts.some((t) => t.includes('\u0000'))).toBe(true);
  });

  it('damages the WebSocket header so the codec refuses it', () => {
    const rng = seededRng(5);
    for (let i = 0; i < 10; i++) {
      const m = mutateAgentMessage(rng, UID, 1, 'ws-header');
      expect(() => decodeWsMessage(m.frame)).toThrow();
    }
  });

  it('nests AnyValues as deep as asked, beyond what the codec accepts', () => {
    const deep = (depth: number) => Buffer.concat([Buffer.from([0x0a, 16]), UID, Buffer.from([0x1a]), frameOf(depth)]);
    expect(() => decodeAgentToServer(deep(80))).toThrow(/depth/);
    let v = decodeMutant(deep(20)).agentDescription?.nonIdentifyingAttributes?.[0].value;
    let depth = 0;
    while (v && (v.arrayValue || v.kvlistValue)) {
      v = v.arrayValue ? v.arrayValue.values?.[0] : v.kvlistValue?.values?.[0].value;
      depth++;
    }
    expect(depth).toBe(20);
    expect(v?.stringValue).toBe('x');
  });
});

/** An agent_description's length-prefixed body with one attribute nested `depth` levels. */
function frameOf(depth: number): Buffer {
  const value = encodeNestedAnyValue(depth, 'x');
  const kv = Buffer.concat([Buffer.from([0x0a, 1, 0x64, 0x12]), varint(value.length), value]);
  const desc = Buffer.concat([Buffer.from([0x12]), varint(kv.length), kv]);
  return Buffer.concat([varint(desc.length), desc]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
