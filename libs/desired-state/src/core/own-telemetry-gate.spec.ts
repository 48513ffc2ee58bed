import { DesiredStateError } from './errors';
import {
  evaluateOwnTelemetryGate,
  gatedSoakMs,
  OWN_TELEMETRY_GATE_DEFAULTS,
  ownTelemetryWindows,
  parseOwnTelemetryGate,
  type OwnTelemetryAgent,
  type OwnTelemetryGate,
  type OwnTelemetryRates,
} from './own-telemetry-gate';
import { gatesMessage, parseGates } from './rollout';

const invalid = (fn: () => unknown, message: RegExp) => {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(DesiredStateError);
  expect((caught as DesiredStateError).code).toBe('INVALID_ARGUMENT');
  expect((caught as Error).message).toMatch(message);
};

/** Rates of a healthy pipeline: 200 items/s in, 1 % failing to export. */
const healthy = (o: Partial<OwnTelemetryRates> = {}): OwnTelemetryRates => ({
  samples: 30,
  receiverAccepted: 200,
  receiverRefused: 0,
  processorDropped: 0,
  exporterSent: 198,
  exporterSendFailed: 2,
  ...o,
});
const agent = (i: number, before: OwnTelemetryRates | null, after: OwnTelemetryRates | null): OwnTelemetryAgent => ({ instanceUid: `a${i}`, before, after });
const gate = (o: Partial<OwnTelemetryGate> = {}): OwnTelemetryGate => ({ ...OWN_TELEMETRY_GATE_DEFAULTS, ...o });
const judge = (agents: OwnTelemetryAgent[], g: OwnTelemetryGate = gate(), toleratedSilent = 0) => evaluateOwnTelemetryGate({ gate: g, agents, toleratedSilent });

describe('parseOwnTelemetryGate', () => {
  it('is no gate when absent, and fills what is unset with the defaults', () => {
    expect(parseOwnTelemetryGate(undefined)).toBeNull();
    expect(parseOwnTelemetryGate(null)).toBeNull();
    expect(parseOwnTelemetryGate({})).toEqual({
      maxExportFailureIncreasePercent: 5,
      maxRefusedDroppedIncreasePercent: 5,
      maxThroughputDropPercent: 50,
      windowSeconds: 300,
      minReportingPercent: 50,
    });
    expect(parseOwnTelemetryGate({ maxExportFailureIncreasePercent: 0, windowSeconds: 60, minReportingPercent: 0 })).toMatchObject({
      maxExportFailureIncreasePercent: 0,
      windowSeconds: 60,
      minReportingPercent: 0,
    });
  });

  it('refuses values out of range, naming the field', () => {
    invalid(() => parseOwnTelemetryGate({ maxExportFailureIncreasePercent: -1 }), /gates\.own_telemetry\.max_export_failure_increase_percent must be a percentage in \[0, 100\]/);
    invalid(() => parseOwnTelemetryGate({ maxRefusedDroppedIncreasePercent: 101 }), /max_refused_dropped_increase_percent/);
    invalid(() => parseOwnTelemetryGate({ maxThroughputDropPercent: Number.NaN }), /max_throughput_drop_percent/);
    invalid(() => parseOwnTelemetryGate({ minReportingPercent: 'lots' }), /min_reporting_percent must be a percentage in \[0, 100\] \(0 = none needed\), got "lots"/);
    invalid(() => parseOwnTelemetryGate({ windowSeconds: 0 }), /window_seconds must be an integer from 1 to 21600, got 0/);
    invalid(() => parseOwnTelemetryGate({ windowSeconds: 1.5 }), /window_seconds/);
    invalid(() => parseOwnTelemetryGate({ windowSeconds: 86_400 }), /window_seconds/);
    invalid(() => parseOwnTelemetryGate([] as never), /must be an object/);
  });

  it('rides in the rollout gates and back out as the API shows them', () => {
    const g = parseGates({ maxFailedAgents: 1, ownTelemetry: { windowSeconds: 120 } });
    expect(g.ownTelemetry).toMatchObject({ windowSeconds: 120, maxThroughputDropPercent: 50 });
    expect(gatesMessage(g)).toEqual({ maxFailedAgents: 1, maxFailedPercent: 0, ownTelemetry: { ...OWN_TELEMETRY_GATE_DEFAULTS, windowSeconds: 120 } });
    expect(parseGates({ maxFailedAgents: 1 })).toEqual({ maxFailedAgents: 1, maxFailedPercent: 0 });
    expect(gatesMessage(parseGates(null))).toEqual({ maxFailedAgents: 0, maxFailedPercent: 0 });
    invalid(() => parseGates({ ownTelemetry: { windowSeconds: -5 } }), /window_seconds/);
  });
});

describe('gate timing', () => {
  it('soaks at least one window once every agent applied, and compares the window before the batch with the last one', () => {
    expect(gatedSoakMs(1_000, null)).toBe(1_000);
    expect(gatedSoakMs(1_000, gate({ windowSeconds: 60 }))).toBe(60_000);
    expect(gatedSoakMs(600_000, gate({ windowSeconds: 60 }))).toBe(600_000);
    expect(ownTelemetryWindows(gate({ windowSeconds: 60 }), 1_000_000, 2_000_000)).toEqual({
      before: { fromMs: 940_000, toMs: 1_000_000 },
      after: { fromMs: 1_940_000, toMs: 2_000_000 },
    });
  });
});

describe('evaluateOwnTelemetryGate', () => {
  it('passes a batch whose own metrics stayed as they were, with the numbers', () => {
    const d = judge([agent(1, healthy(), healthy()), agent(2, healthy(), healthy({ exporterSent: 197, exporterSendFailed: 3 }))]);
    expect(d.decision).toBe('passed');
    expect(d.numbers).toMatchObject({ agents: 2, comparable: 2, stoppedReporting: 0, requiredReporting: 1, windowSeconds: 300 });
    expect(d.numbers.exportFailurePercent).toEqual({ before: 1, after: 1.25, increase: 0.25, max: 5, passed: true });
    expect(d.numbers.throughput).toMatchObject({ before: 396, after: 395, passed: true });
    expect(d.reason).toMatch(/own telemetry of 2 agents within limits: export failures 1 % -> 1.25 %/);
  });

  it('fails a batch whose agents fail to export after the change, naming the worst agents', () => {
    const broken = healthy({ exporterSent: 40, exporterSendFailed: 160 });
    const d = judge([agent(1, healthy(), broken), agent(2, healthy(), healthy()), agent(3, healthy(), broken)]);
    expect(d.decision).toBe('failed');
    // Summed rates: before 6 of 600 items failed, after 322 of 600.
    expect(d.numbers.exportFailurePercent).toMatchObject({ before: 1, after: 53.67, increase: 52.67, passed: false });
    expect(d.numbers.throughput).toMatchObject({ before: 594, after: 278, dropPercent: 53.2, passed: false });
    expect(d.reason).toMatch(/export failures up 52.67 points \(1 % -> 53.67 % of items; at most 5 allowed\)/);
    expect(d.reason).toMatch(/items exported per second down 53.2 %/);
    expect(d.numbers.worstAgents.map((w) => w.instanceUid)).toEqual(['a1', 'a3', 'a2']);
    expect(d.numbers.worstAgents[0]).toEqual({ instanceUid: 'a1', exportFailurePercentBefore: 1, exportFailurePercentAfter: 80 });
  });

  it('weighs agents by their traffic: one idle agent failing everything does not fail a busy batch', () => {
    const busy = healthy({ receiverAccepted: 10_000, exporterSent: 9_900, exporterSendFailed: 100 });
    const idle = healthy({ receiverAccepted: 1, exporterSent: 1, exporterSendFailed: 0 });
    const d = judge([agent(1, busy, busy), agent(2, idle, healthy({ receiverAccepted: 1, exporterSent: 0, exporterSendFailed: 1 }))]);
    expect(d.decision).toBe('passed');
    expect(d.numbers.exportFailurePercent.increase).toBeLessThanOrEqual(0.01);
  });

  it('fails on refused or dropped items rising, in either naming the store derived', () => {
    const d = judge([agent(1, healthy(), healthy({ receiverRefused: 30, processorDropped: 20 }))]);
    expect(d.decision).toBe('failed');
    // before 0 of 200; after 50 of 230.
    expect(d.numbers.refusedDroppedPercent).toMatchObject({ before: 0, after: 21.74, passed: false });
    expect(d.reason).toMatch(/refused or dropped items up 21.74 points/);
  });

  it('fails on a throughput drop alone, and a check at 100 is off', () => {
    const slow = healthy({ receiverAccepted: 50, exporterSent: 49.5, exporterSendFailed: 0.5 });
    expect(judge([agent(1, healthy(), slow)]).reason).toMatch(/items exported per second down 75 % \(198 -> 49.5; at most 50 % allowed\)/);
    expect(judge([agent(1, healthy(), slow)], gate({ maxThroughputDropPercent: 100 })).decision).toBe('passed');
    const failing = healthy({ exporterSent: 0, exporterSendFailed: 200 });
    expect(judge([agent(1, healthy(), failing)], gate({ maxExportFailureIncreasePercent: 100, maxThroughputDropPercent: 100 })).decision).toBe('passed');
  });

  it('does not pass on no data: too few agents reporting in both windows fails, unless min_reporting_percent is 0', () => {
    const none = judge([agent(1, null, null), agent(2, null, null)]);
    expect(none.decision).toBe('failed');
    expect(none.reason).toMatch(/0 of 2 agents reported own metrics in both windows \(300 s before the batch started and the last 300 s\); 1 needed/);
    const empty = judge([]);
    expect(empty).toMatchObject({ decision: 'failed', numbers: { requiredReporting: 1 } });
    const optOut = judge([agent(1, null, null)], gate({ minReportingPercent: 0 }));
    expect(optOut.decision).toBe('passed');
    expect(optOut.reason).toMatch(/no agent of 1 reported in both windows; passed because min_reporting_percent is 0/);
    // 3 of 4 reporting in both windows meets 50 %; 1 of 4 does not (2 needed). New agents count as not comparable.
    const some = [agent(1, healthy(), healthy()), agent(2, null, healthy()), agent(3, null, null), agent(4, healthy({ samples: 0 }), healthy())];
    expect(judge(some)).toMatchObject({ decision: 'failed', numbers: { comparable: 1, newlyReporting: 2, notReporting: 1, requiredReporting: 2 } });
    expect(judge(some, gate({ minReportingPercent: 25 })).decision).toBe('passed');
  });

  it('counts agents that stopped reporting after the change against the batch tolerance', () => {
    const list = [agent(1, healthy(), healthy()), agent(2, healthy(), healthy()), agent(3, healthy(), null), agent(4, healthy(), healthy({ samples: 0 }))];
    const d = judge(list, gate(), 1);
    expect(d.decision).toBe('failed');
    expect(d.reason).toMatch(/2 of 4 agents reported own metrics before the change and none after it; 1 tolerated/);
    expect(d.numbers.stoppedAgents).toEqual(['a3', 'a4']);
    expect(judge(list, gate(), 2).decision).toBe('passed');
  });
});
