/** A grid of own-metric charts over one set of totals, and the range selector they share. */
import { useMemo } from 'react';
import { chartData, RANGES, type ChartSpec, type KindTotals, type RangeKey } from '../lib/own-metrics';
import { TimeSeriesChart } from './TimeSeriesChart';

export function OwnMetricCharts({
  charts,
  totals,
  stepMs,
  testIdPrefix,
  range,
  markerMs = null,
}: {
  charts: readonly ChartSpec[];
  totals: KindTotals;
  stepMs: number;
  testIdPrefix: string;
  /** The range the data was asked for (the API's start_time and end_time). */
  range: { startTime: string; endTime: string };
  markerMs?: number | null;
}) {
  const rangeSec = [Date.parse(range.startTime) / 1000, Date.parse(range.endTime) / 1000] as const;
  const data = useMemo(() => charts.map((c) => chartData(c, totals, stepMs)), [charts, totals, stepMs]);
  return (
    <div className="chart-grid">
      {charts.map((c, i) => (
        <TimeSeriesChart key={c.id} title={c.title} unit={c.unit} lines={c.lines} data={data[i]} testId={`${testIdPrefix}-${c.id}`} rangeSec={rangeSec} markerSec={markerMs === null ? null : markerMs / 1000} />
      ))}
    </div>
  );
}

export function RangeSelector({ value, onChange, testId }: { value: RangeKey; onChange: (r: RangeKey) => void; testId: string }) {
  return (
    <div className="segmented" role="tablist" aria-label="Time range" data-testid={testId}>
      <span className="segmented-label">Range</span>
      {RANGES.map((r) => (
        <button type="button" role="tab" key={r.key} aria-selected={value === r.key} className={value === r.key ? 'active' : ''} data-testid={`${testId}-${r.key}`} onClick={() => onChange(r.key)}>
          {r.label}
        </button>
      ))}
    </div>
  );
}
