/**
 * Keeps values the fleet cannot store off the bus: a message PostgreSQL
 * could not hold would fail in status-ingest after the agent was already
 * answered, and its lost sequence number would ask the agent for full state
 * again and again. Shared by both transports.
 */
import { describeDropped, dropUnstorableValues, encodeAgentToServer, type opamp } from '@opamp/protocol';
import type { EdgeMetrics } from './edge-metrics';

export interface StorableInbound {
  /** Set when nothing may be forwarded: answer BAD_REQUEST with this reason. */
  refused: string | null;
  /** The bytes to forward. */
  payload: Buffer;
  /** Set when parts were dropped: the agent is told so with BAD_REQUEST, and the rest is forwarded. */
  warning: string | null;
}

/** `msg` (decoded from `payload`) is cleaned in place; counted as `unstorable_value` when anything had to go. */
export function storableInbound(msg: opamp.proto.v1.AgentToServer, payload: Buffer, metrics: EdgeMetrics): StorableInbound {
  const check = dropUnstorableValues(msg);
  if (check.refused) {
    metrics.reject('unstorable_value');
    return { refused: check.refused, payload, warning: null };
  }
  if (check.dropped.length === 0) return { refused: null, payload, warning: null };
  metrics.reject('unstorable_value');
  return { refused: null, payload: encodeAgentToServer(msg), warning: describeDropped(check) };
}
