/**
 * Property-based tests (fast-check) over what parses untrusted bytes: any
 * input either decodes or fails with the library's ProtocolError, never with
 * anything else; what is encoded decodes back to the same; framing holds for
 * every length.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import * as fc from 'fast-check';
import { decodeRequestBody, encodeResponseBody, parseContentEncoding } from './http-body';
import {
  decodeAgentToServer,
  decodeServerToAgent,
  encodeAgentToServer,
  encodeAgentToServerFrame,
  encodeServerToAgent,
} from './message-codec';
import { isProtocolError } from './protocol-error';
import { decodeWsMessage, encodeWsPayload, readWsHeader } from './ws-framing';

/** Runs `fn`; true when it returned or threw a ProtocolError, false for anything else thrown. */
function onlyProtocolErrors(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    return isProtocolError(err);
  }
}

const bytes = fc.uint8Array({ maxLength: 512 });
const uid = fc.uint8Array({ minLength: 16, maxLength: 16 });
const safeString = fc.string({ maxLength: 40 });

describe('protocol properties', () => {
  it('arbitrary bytes never throw anything but ProtocolError from any decoder', () => {
    fc.assert(
      fc.property(bytes, (b) =>
        [
          () => decodeAgentToServer(b, { maxBytes: 256 }),
          () => decodeAgentToServer(b, { strictUtf8: true }),
          () => decodeServerToAgent(b),
          () => decodeWsMessage(b),
          () => readWsHeader(b),
          () => decodeAgentToServer(decodeWsMessage(b)),
          () => decodeRequestBody(b, 'gzip', 1024),
          () => decodeRequestBody(b, 'identity', 256),
        ].every(onlyProtocolErrors),
      ),
      { numRuns: 500 },
    );
  });

  it('arbitrary Content-Encoding headers parse or fail with ProtocolError', () => {
    fc.assert(fc.property(fc.string({ maxLength: 60 }), (h) => onlyProtocolErrors(() => parseContentEncoding(h))));
  });

  it('AgentToServer round-trips through bytes and through WS frames', () => {
    const message = fc.record({
      instanceUid: uid,
      sequenceNum: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      capabilities: fc.integer({ min: 0, max: 0xffff }),
      agentDescription: fc.record({
        identifyingAttributes: fc.array(fc.record({ key: safeString, value: fc.record({ stringValue: safeString }) }), { maxLength: 5 }),
      }),
    });
    fc.assert(
      fc.property(message, (m) => {
        const plain = decodeAgentToServer(encodeAgentToServer(m));
        const framed = decodeAgentToServer(decodeWsMessage(encodeAgentToServerFrame(m)));
        for (const d of [plain, framed]) {
          expect(Buffer.from(d.instanceUid)).toEqual(Buffer.from(m.instanceUid));
          expect(Number(d.sequenceNum)).toBe(m.sequenceNum);
          expect(Number(d.capabilities)).toBe(m.capabilities);
          expect(d.agentDescription?.identifyingAttributes?.map((a) => [a.key, a.value?.stringValue])).toEqual(
            m.agentDescription.identifyingAttributes.map((a) => [a.key, a.value.stringValue]),
          );
        }
      }),
    );
  });

  it('ServerToAgent round-trips', () => {
    fc.assert(
      fc.property(uid, fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 32 }), (u, flags, hash) => {
        const d = decodeServerToAgent(encodeServerToAgent({ instanceUid: u, flags, remoteConfig: { configHash: hash } }));
        expect(Buffer.from(d.instanceUid)).toEqual(Buffer.from(u));
        expect(Number(d.flags)).toBe(flags);
        expect(Buffer.from(d.remoteConfig?.configHash ?? [])).toEqual(Buffer.from(hash));
      }),
    );
  });

  it('framing: a payload of any length comes back whole behind the single 0x00 header', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 70_000 }), fc.integer({ min: 0, max: 255 }), (length, fill) => {
        const data = Buffer.alloc(length, fill);
        const frame = encodeWsPayload(data);
        expect(frame.length).toBe(length + 1);
        expect(frame[0]).toBe(0);
        expect(decodeWsMessage(frame).equals(data)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('framing: a non-zero varint header of any value is refused with ProtocolError', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }), bytes, (value, data) => {
        const header: number[] = [];
        let v = value;
        do {
          header.push(Number(v & 0x7fn) | (v > 0x7fn ? 0x80 : 0));
          v >>= 7n;
        } while (v > 0n);
        const frame = Buffer.concat([Buffer.from(header), data]);
        expect(readWsHeader(frame)).toEqual({ value, length: header.length });
        expect(() => decodeWsMessage(frame)).toThrow(expect.objectContaining({ code: 'MALFORMED_FRAME' }));
      }),
    );
  });

  it('HTTP bodies: gzip round-trips under the limit, and the limit holds after inflation', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.integer({ min: 1, max: 4096 }), (body, limit) => {
        const gz = gzipSync(body);
        if (body.length <= limit) expect(decodeRequestBody(gz, 'gzip', limit)).toEqual(Buffer.from(body));
        else expect(() => decodeRequestBody(gz, 'gzip', limit)).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
        const reply = encodeResponseBody(body, 'gzip');
        expect(reply.contentEncoding).toBe('gzip');
        expect(gunzipSync(reply.body)).toEqual(Buffer.from(body));
      }),
    );
  });
});
