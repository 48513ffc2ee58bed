/**
 * Owns mutated OpAMP plain-HTTP requests: a mutated AgentToServer body, or a
 * well-formed one behind a wrong content type, a lying Content-Encoding, an
 * empty body or a gzip bomb.
 */
import { gzipSync } from 'node:zlib';
import { mutateAgentMessage, type FrameMutation } from './agent-frame.mutator';
import { drawBytes, drawInt, drawOne, type Rng } from './fuzz-draw';

export const HTTP_ENVELOPE_MUTATIONS = ['none', 'content-type', 'gzip-garbage', 'gzip-bomb', 'empty'] as const;
export type HttpEnvelopeMutation = (typeof HTTP_ENVELOPE_MUTATIONS)[number];

export interface MutatedHttpRequest {
  /** `<envelope>/<body mutation>`, the kind results are counted by. */
  kind: string;
  headers: Record<string, string>;
  body: Buffer;
}

const PROTOBUF = 'application/x-protobuf';
const BOMB_MB = [8, 32, 64] as const;
const bombs = new Map<number, Buffer>();

/** Zeros of `mb` MiB gzipped, made once per size (compressing 64 MiB per request would slow the fuzzer, not the server). */
function gzipBomb(mb: number): Buffer {
  let bomb = bombs.get(mb);
  if (!bomb) bombs.set(mb, (bomb = gzipSync(Buffer.alloc(mb * 1024 * 1024))));
  return bomb;
}

export function mutateHttpRequest(rng: Rng, uid: Uint8Array, seq: number): MutatedHttpRequest {
  const envelope = drawOne(rng, HTTP_ENVELOPE_MUTATIONS);
  const message = mutateAgentMessage(rng, uid, seq);
  const mutation: FrameMutation | 'valid' = envelope === 'none' ? message.mutation : 'valid';
  const kind = `${envelope}/${mutation}`;
  switch (envelope) {
    case 'none':
      return { kind, headers: { 'content-type': PROTOBUF }, body: message.body };
    case 'content-type':
      return { kind, headers: { 'content-type': drawOne(rng, ['text/plain', 'application/json', '', 'application/x-protobuf; charset=\u0000']) }, body: message.body };
    case 'gzip-garbage':
      return { kind, headers: { 'content-type': PROTOBUF, 'content-encoding': 'gzip' }, body: drawBytes(rng, drawInt(rng, 0, 512)) };
    case 'gzip-bomb':
      // Small on the wire, far beyond any message limit once inflated.
      return { kind, headers: { 'content-type': PROTOBUF, 'content-encoding': 'gzip' }, body: gzipBomb(drawOne(rng, BOMB_MB)) };
    case 'empty':
      return { kind, headers: { 'content-type': PROTOBUF }, body: Buffer.alloc(0) };
  }
}
