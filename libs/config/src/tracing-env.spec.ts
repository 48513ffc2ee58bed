import { tracingSettings } from './tracing-env';

const base = { OPAMP_TRACING_OTLP_ENDPOINT: '', OPAMP_TRACING_SAMPLE_RATIO: '0.01', OPAMP_TRACING_MAX_TRACES_PER_S: 100, OPAMP_TRACING_OTLP_HEADERS: '' };

describe('tracingSettings', () => {
  it('is off without an endpoint', () => {
    expect(tracingSettings(base)).toBeNull();
  });

  it('reads endpoint, ratio and headers', () => {
    expect(
      tracingSettings({ ...base, OPAMP_TRACING_OTLP_ENDPOINT: 'http://collector:4318/v1/traces', OPAMP_TRACING_SAMPLE_RATIO: '0.5', OPAMP_TRACING_OTLP_HEADERS: 'x-api-key=abc=def, x-team = obs' }),
    ).toEqual({ endpoint: 'http://collector:4318/v1/traces', sampleRatio: 0.5, maxTracesPerSecond: 100, headers: { 'x-api-key': 'abc=def', 'x-team': 'obs' } });
  });

  it.each([
    [{ OPAMP_TRACING_OTLP_ENDPOINT: 'collector:4318' }, 'OPAMP_TRACING_OTLP_ENDPOINT'],
    [{ OPAMP_TRACING_OTLP_ENDPOINT: 'ftp://collector/v1/traces' }, 'OPAMP_TRACING_OTLP_ENDPOINT'],
    [{ OPAMP_TRACING_OTLP_ENDPOINT: 'http://c/v1/traces', OPAMP_TRACING_SAMPLE_RATIO: '2' }, 'OPAMP_TRACING_SAMPLE_RATIO'],
    [{ OPAMP_TRACING_OTLP_ENDPOINT: 'http://c/v1/traces', OPAMP_TRACING_SAMPLE_RATIO: 'often' }, 'OPAMP_TRACING_SAMPLE_RATIO'],
    [{ OPAMP_TRACING_OTLP_ENDPOINT: 'http://c/v1/traces', OPAMP_TRACING_OTLP_HEADERS: 'novalue' }, 'OPAMP_TRACING_OTLP_HEADERS'],
  ])('refuses %j', (values, name) => {
    expect(() => tracingSettings({ ...base, ...values })).toThrow(name);
  });

  it('never echoes a header value in its error', () => {
    expect(() => tracingSettings({ ...base, OPAMP_TRACING_OTLP_ENDPOINT: 'http://c/v1/traces', OPAMP_TRACING_OTLP_HEADERS: 'secretvalue' })).not.toThrow(/secretvalue/);
  });
});
