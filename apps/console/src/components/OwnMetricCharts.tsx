/** A grid of own-metric charts over one set of totals, and the range selector they share. */
import { useMemo } from 'react';
import { chartData, RANGES, type ChartSpec, type KindTotals, type RangeKey } from '../lib/own-metrics';
import { TimeSeriesChart } from './TimeSeriesChart';

export function OwnMetricCharts({ charts, totals, stepMs, testIdPrefix, markerMs = null }: { charts: readonly ChartSpec[]; totals: KindTotals; stepMs: number; testIdPrefix: string; markerMs?: number | null }) {
  const data = useMemo(() => charts.map((c) => chartData(c, totals, stepMs)), [charts, totals, stepMs]);
  return (
    <div className="chart-grid">
      {charts.map((c, i) => (
        <TimeSeriesChart key={c.id} title={c.title} unit={c.unit} lines={c.lines} data={data[i]} testId={`${testIdPrefix}-${c.id}`} markerSec={markerMs === null ? null : markerMs / 1000} />
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
