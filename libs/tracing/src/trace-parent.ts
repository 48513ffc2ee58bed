/**
 * The W3C `traceparent` form a trace's context travels in between processes
 * (Kafka envelopes, Redis pushes): version 00, sampled flag set, because only
 * sampled work carries one at all; an envelope without it costs nothing.
 */
export interface TraceContext {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** 16 lowercase hex digits: the span the next one is a child of. */
  spanId: string;
}

const PATTERN = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[0-9a-f]$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

export function formatTraceParent(context: TraceContext): string {
  return `00-${context.traceId}-${context.spanId}-01`;
}

/** The context, or null for anything that is not a valid traceparent (it came over the wire: never trusted). */
export function parseTraceParent(value: string | null | undefined): TraceContext | null {
  if (!value) return null;
  const m = PATTERN.exec(value);
  if (!m || m[1] === ZERO_TRACE || m[2] === ZERO_SPAN) return null;
  return { traceId: m[1], spanId: m[2] };
}
