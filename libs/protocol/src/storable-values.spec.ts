import { decodeAgentToServer, encodeAgentToServer } from './message-codec';
import { dropUnstorableValues, describeDropped, MAX_ATTRIBUTE_BYTES } from './storable-values';
import type { opamp } from './opamp-schema';

const UID = Buffer.alloc(16, 7);
const decoded = (fields: opamp.proto.v1.IAgentToServer) =>
  decodeAgentToServer(encodeAgentToServer({ instanceUid: UID, sequenceNum: 1, capabilities: 1, ...fields }));

/** A map entry with a key and no value: what protobufjs cannot encode, written by hand. */
function withEmptyMapEntry(fieldTag: number, subTag: number, key: string): Buffer {
  const k = Buffer.from(key);
  const entry = Buffer.concat([Buffer.from([0x0a, k.length]), k]);
  const inner = Buffer.concat([Buffer.from([(subTag << 3) | 2, entry.length]), entry]);
  return Buffer.concat([encodeAgentToServer({ instanceUid: UID, sequenceNum: 1 }), Buffer.from([(fieldTag << 3) | 2, inner.length]), inner]);
}

describe('dropUnstorableValues', () => {
  it('leaves a clean message as it is', () => {
    const msg = decoded({
      agentDescription: { identifyingAttributes: [{ key: 'service.name', value: { stringValue: 'otelcol' } }] },
      health: { healthy: true, status: 'ok', componentHealthMap: { a: { healthy: true } } },
    });
    const before = encodeAgentToServer(msg);
    expect(dropUnstorableValues(msg)).toEqual({ dropped: [], refused: null });
    expect(encodeAgentToServer(msg)).toEqual(before);
  });

  it('drops only the attribute whose value holds U+0000, and keeps the rest', () => {
    const msg = decoded({
      agentDescription: {
        identifyingAttributes: [
          { key: 'service.name', value: { stringValue: 'otel\u0000col' } },
          { key: 'service.instance.id', value: { stringValue: 'i-1' } },
        ],
        nonIdentifyingAttributes: [{ key: 'os\u0000type', value: { stringValue: 'linux' } }],
      },
    });
    const check = dropUnstorableValues(msg);
    expect(check.refused).toBeNull();
    expect(check.dropped).toEqual([
      'agentDescription.identifyingAttributes[0]: value: U+0000 in stringValue',
      'agentDescription.nonIdentifyingAttributes[0]: U+0000 in key',
    ]);
    expect(msg.agentDescription?.identifyingAttributes?.map((a) => a.key)).toEqual(['service.instance.id']);
    expect(msg.agentDescription?.nonIdentifyingAttributes).toEqual([]);
    expect(describeDropped(check)).toMatch(/^dropped values this server cannot store: agentDescription/);
  });

  it('drops a nested component whose error text holds U+0000; a top-level report with a bad field of its own goes whole', () => {
    const msg = decoded({
      health: { healthy: true, componentHealthMap: { good: { healthy: true }, bad: { lastError: 'x\u0000' } } },
      remoteConfigStatus: { status: 3, errorMessage: 'bad\u0000' },
    });
    const check = dropUnstorableValues(msg);
    expect(check.dropped).toEqual(['health.componentHealthMap["bad"]: U+0000 in lastError', 'remoteConfigStatus: U+0000 in errorMessage']);
    expect(Object.keys(msg.health?.componentHealthMap ?? {})).toEqual(['good']);
    expect(msg.remoteConfigStatus).toBeNull();
  });

  it('drops an attribute whose key or string value is longer than the server indexes, and keeps the rest', () => {
    const long = 'h'.repeat(MAX_ATTRIBUTE_BYTES + 1);
    const msg = decoded({
      agentDescription: {
        identifyingAttributes: [
          { key: 'host.name', value: { stringValue: long } },
          { key: 'service.name', value: { stringValue: 'x'.repeat(MAX_ATTRIBUTE_BYTES) } },
        ],
        nonIdentifyingAttributes: [{ key: long, value: { stringValue: 'v' } }, { key: 'os.type', value: { stringValue: 'linux' } }],
      },
    });
    const check = dropUnstorableValues(msg);
    expect(check.refused).toBeNull();
    expect(check.dropped).toEqual([
      `agentDescription.identifyingAttributes[0]: value longer than ${MAX_ATTRIBUTE_BYTES} bytes`,
      `agentDescription.nonIdentifyingAttributes[0]: key longer than ${MAX_ATTRIBUTE_BYTES} bytes`,
    ]);
    expect(msg.agentDescription?.identifyingAttributes?.map((a) => a.key)).toEqual(['service.name']);
    expect(msg.agentDescription?.nonIdentifyingAttributes?.map((a) => a.key)).toEqual(['os.type']);
  });

  it('drops a status report whose status is outside 0..32767 (stored as smallint; a future enum value inside stays)', () => {
    const msg = decoded({
      remoteConfigStatus: { status: 2147483647 as never, lastRemoteConfigHash: Buffer.from('ab', 'hex') },
      connectionSettingsStatus: { status: -1 as never },
      health: { healthy: true },
    });
    const check = dropUnstorableValues(msg);
    expect(check.refused).toBeNull();
    expect(check.dropped).toEqual(['remoteConfigStatus: status 2147483647 is outside 0..32767', 'connectionSettingsStatus: status -1 is outside 0..32767']);
    expect(msg.remoteConfigStatus).toBeNull();
    expect(msg.connectionSettingsStatus).toBeNull();
    expect(msg.health?.healthy).toBe(true);
  });

  it('keeps status reports with every known status, and a future one', () => {
    for (const status of [0, 1, 2, 3, 4, 32767]) {
      const msg = decoded({ remoteConfigStatus: { status }, connectionSettingsStatus: { status } });
      expect(dropUnstorableValues(msg)).toEqual({ dropped: [], refused: null });
    }
  });

  it.each([
    ['health.componentHealthMap', 5, 6],
    ['effectiveConfig.configMap', 6, 1],
    ['packageStatuses.packages', 8, 1],
    ['availableComponents.components', 14, 1],
  ])('drops a %s entry without a value', (path, fieldTag, subTag) => {
    // effective config nests its map one level deeper (EffectiveConfig.config_map.config_map).
    const bytes =
      path === 'effectiveConfig.configMap'
        ? (() => {
            const k = Buffer.from('file');
            const entry = Buffer.concat([Buffer.from([0x0a, k.length]), k]);
            const map = Buffer.concat([Buffer.from([0x0a, entry.length]), entry]);
            const cfg = Buffer.concat([Buffer.from([0x0a, map.length]), map]);
            return Buffer.concat([encodeAgentToServer({ instanceUid: UID, sequenceNum: 1 }), Buffer.from([(fieldTag << 3) | 2, cfg.length]), cfg]);
          })()
        : withEmptyMapEntry(fieldTag, subTag, 'k');
    const msg = decodeAgentToServer(bytes);
    const check = dropUnstorableValues(msg);
    expect(check.refused).toBeNull();
    expect(check.dropped).toHaveLength(1);
    expect(check.dropped[0]).toMatch(/entry without a value$/);
    expect(JSON.stringify(msg.toJSON())).not.toContain('null');
  });

  it.each([
    ['sequenceNum', 2 ** 63],
    ['capabilities', 2 ** 63 + 2 ** 12],
  ])('refuses the whole message when %s is beyond int64', (field, value) => {
    const msg = decoded({ [field]: value });
    const check = dropUnstorableValues(msg);
    expect(check.refused).toMatch(new RegExp(`^${field} .* int64`));
  });

  it('accepts the largest int64 a JS number holds exactly below 2^63', () => {
    expect(dropUnstorableValues(decoded({ sequenceNum: 2 ** 62 })).refused).toBeNull();
  });
});
