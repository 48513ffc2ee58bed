/**
 * Encoding and decoding of the fleet/v1 envelopes that travel over Kafka and
 * Redis. Decoding never throws anything but EnvelopeDecodeError, so a consumer
 * can count and skip a poisoned record instead of crashing.
 */
import { fleet } from './fleet-schema';

export class EnvelopeDecodeError extends Error {
  constructor(
    readonly envelopeType: string,
    cause: unknown,
  ) {
    super(`cannot decode ${envelopeType}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'EnvelopeDecodeError';
  }
}

type Codec<T, I> = {
  create(properties?: I): T;
  encode(message: I): { finish(): Uint8Array };
  decode(reader: Uint8Array): T;
};

function makeCodec<T, I>(name: string, type: Codec<T, I>) {
  return {
    encode(value: I): Buffer {
      const bytes = type.encode(value).finish();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    decode(bytes: Uint8Array): T {
      try {
        return type.decode(bytes);
      } catch (err) {
        throw new EnvelopeDecodeError(name, err);
      }
    },
  };
}

export const AgentInboundCodec = makeCodec<fleet.v1.AgentInbound, fleet.v1.IAgentInbound>(
  'AgentInbound',
  fleet.v1.AgentInbound,
);
export const AgentEventCodec = makeCodec<fleet.v1.AgentEvent, fleet.v1.IAgentEvent>('AgentEvent', fleet.v1.AgentEvent);
export const GatewayPushCodec = makeCodec<fleet.v1.GatewayPush, fleet.v1.IGatewayPush>(
  'GatewayPush',
  fleet.v1.GatewayPush,
);
export const AgentChangeNoticeCodec = makeCodec<fleet.v1.AgentChangeNotice, fleet.v1.IAgentChangeNotice>('AgentChangeNotice', fleet.v1.AgentChangeNotice);
/** Own telemetry the gateway's OTLP receiver accepted (issue 19: topic opamp.agent-telemetry). */
export const AgentTelemetryCodec = makeCodec<fleet.v1.AgentTelemetry, fleet.v1.IAgentTelemetry>('AgentTelemetry', fleet.v1.AgentTelemetry);
