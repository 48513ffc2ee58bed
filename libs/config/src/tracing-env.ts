/**
 * This server's own traces (issue 21), the settings every app shares:
 * off unless an OTLP endpoint is set; agent traffic sampled at a ratio,
 * API mutations and errors always. Headers (an API key of a tracing backend)
 * are secret: never echoed.
 */
import { int, str } from './env-schema';

export const tracingEnv = {
  /** OTLP/HTTP traces URL, e.g. http://otel-collector:4318/v1/traces; empty: tracing off. */
  OPAMP_TRACING_OTLP_ENDPOINT: str({ default: '' }),
  /** Share of agent messages whose whole path is traced, 0..1. */
  OPAMP_TRACING_SAMPLE_RATIO: str({ default: '0.01' }),
  /** New traces of agent traffic per second and process at most, whatever the ratio (API mutations are not counted). */
  OPAMP_TRACING_MAX_TRACES_PER_S: int({ default: 100, min: 1, max: 100_000 }),
  /** Extra headers of the export, "name=value" separated by commas. */
  OPAMP_TRACING_OTLP_HEADERS: str({ default: '', secret: true }),
};

export interface TracingConfig {
  endpoint: string;
  sampleRatio: number;
  maxTracesPerSecond: number;
  headers: Record<string, string>;
}

type TracingValues = { [K in keyof typeof tracingEnv]: ReturnType<(typeof tracingEnv)[K]['parse']> };

/** The settings, null when tracing is off, or a clear error. */
export function tracingSettings(e: TracingValues): TracingConfig | null {
  const endpoint = e.OPAMP_TRACING_OTLP_ENDPOINT.trim();
  if (!endpoint) return null;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error('invalid configuration: OPAMP_TRACING_OTLP_ENDPOINT must be an http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('invalid configuration: OPAMP_TRACING_OTLP_ENDPOINT must be an http(s) URL');
  const ratio = Number(e.OPAMP_TRACING_SAMPLE_RATIO.trim());
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) throw new Error('invalid configuration: OPAMP_TRACING_SAMPLE_RATIO must be a number from 0 to 1');
  const headers: Record<string, string> = {};
  for (const part of e.OPAMP_TRACING_OTLP_HEADERS.split(',')) {
    if (!part.trim()) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error('invalid configuration: OPAMP_TRACING_OTLP_HEADERS must be name=value pairs separated by commas');
    headers[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return { endpoint, sampleRatio: ratio, maxTracesPerSecond: e.OPAMP_TRACING_MAX_TRACES_PER_S, headers };
}
