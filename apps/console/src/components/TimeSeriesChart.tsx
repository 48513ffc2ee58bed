/**
 * A time-series chart (uPlot on a canvas) with its own legend: each line's
 * value at the cursor, or its latest when the cursor is off the chart. The
 * uPlot instance lives as long as the component; new data is set on it
 * (live updates redraw, they do not rebuild), and it follows its box's width.
 */
import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatValue, latestValue, type ChartData, type Unit } from '../lib/own-metrics';

export interface ChartLine {
  key: string;
  label: string;
  color: string;
}

const HEIGHT = 170;

/** A vertical marker (a batch's start) drawn over the plot. */
function markerPlugin(markerRef: { current: number | null }): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const at = markerRef.current;
        if (at === null) return;
        const x = u.valToPos(at, 'x', true);
        if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
        const ctx = u.ctx;
        ctx.save();
        ctx.strokeStyle = '#6b7385';
        ctx.setLineDash([4, 4]);
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.restore();
      },
    },
  };
}

/**
 * `rangeSec`: the x axis spans the range asked for (seconds), so data at its
 * end shows where it is in time (and one point is not stretched over years).
 */
export function TimeSeriesChart({
  title,
  unit,
  lines,
  data,
  testId,
  rangeSec,
  markerSec = null,
}: {
  title: string;
  unit: Unit;
  lines: readonly ChartLine[];
  data: ChartData;
  testId: string;
  rangeSec: readonly [number, number];
  markerSec?: number | null;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const marker = useRef<number | null>(markerSec);
  marker.current = markerSec;
  const range = useRef(rangeSec);
  range.current = rangeSec;
  const [cursorIdx, setCursorIdx] = useState<number | null>(null);
  const aligned = [data.x, ...data.ys] as uPlot.AlignedData;
  // The lines drawn are fixed for a chart: a new set of lines is a new chart.
  const shape = lines.map((l) => l.key).join(',');

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: HEIGHT,
      legend: { show: false },
      cursor: { points: { size: 6 } },
      scales: { x: { time: true, range: () => [range.current[0], range.current[1]] } },
      series: [{}, ...lines.map((l) => ({ label: l.label, stroke: l.color, width: 1.5, spanGaps: false, points: { show: (_u: uPlot, _i: number, i0: number, i1: number) => i1 - i0 < 30, size: 5 } }))],
      axes: [{ stroke: '#6b7385', grid: { stroke: '#eef0f4' } }, { stroke: '#6b7385', grid: { stroke: '#eef0f4' }, size: 80, values: (_u, splits) => splits.map((v) => formatValue(v, unit)) }],
      hooks: { setCursor: [(u) => setCursorIdx(u.cursor.idx ?? null)] },
      plugins: [markerPlugin(marker)],
    };
    const u = new uPlot(opts, aligned, el);
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape, unit]);

  useEffect(() => {
    plot.current?.setData(aligned);
  }, [data]);

  const at = cursorIdx !== null && cursorIdx < data.x.length ? cursorIdx : null;
  return (
    <div className="chart" data-testid={testId} data-points={data.x.length}>
      <div className="chart-title">{title}</div>
      <div ref={box} className="chart-plot" onMouseLeave={() => setCursorIdx(null)} />
      <div className="chart-legend">
        {lines.map((l, i) => {
          const v = at !== null ? data.ys[i][at] : latestValue(data.ys[i]);
          return (
            <span key={l.key} className="chart-legend-item">
              <span className="chart-swatch" style={{ background: l.color }} /> {l.label}{' '}
              <strong data-testid={`${testId}-${l.key}`} data-value={v ?? ''}>
                {formatValue(v, unit)}
              </strong>
            </span>
          );
        })}
        {data.x.length === 0 && <span className="muted small">no data in this range</span>}
      </div>
    </div>
  );
}
