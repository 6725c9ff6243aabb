import { useCallback, useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { AppStats } from '../api/chaos';
import { ApiError } from '../api/client';
import { useSession } from '../core/SessionContext';
import { usePolling } from '../ui/usePolling';
import { wallClock } from '../ui/time';

const WINDOW_S = 120;
const STEP_S = 2;
const CHART_W = 300;
const CHART_H = 64;

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0)} %`);
const ms = (x: number | null | undefined) => (x === null || x === undefined ? '–' : x < 10 ? `${x.toFixed(1)} ms` : `${Math.round(x)} ms`);

const MARKER_COLORS: Record<string, string> = { scenario: '#e0823d', reset: '#4ec9b0', file: '#9cdcfe', checks: '#c586c0' };

/** A uPlot plugin drawing the live view's markers (scenario, reset, file saved) as vertical lines. */
function markersPlugin(markers: () => AppStats['markers']): uPlot.Plugin {
  return {
    hooks: {
      draw: (u: uPlot) => {
        const ctx = u.ctx;
        const { top, height } = u.bbox;
        ctx.save();
        ctx.lineWidth = Math.max(1, devicePixelRatio);
        for (const m of markers()) {
          const x = u.valToPos(m.at / 1000, 'x', true);
          if (!Number.isFinite(x) || x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.strokeStyle = MARKER_COLORS[m.kind] ?? '#cccccc';
          ctx.setLineDash(m.kind === 'file' ? [2, 3] : []);
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + height);
          ctx.stroke();
        }
        ctx.restore();
      },
    },
  };
}

/** What a chart draws and how; one constant per chart, so the chart is built once. */
interface ChartSpec {
  series: { label: string; color: string; values: (s: AppStats['series'][number]) => number | null }[];
  yRange?: [number, number];
  format: (v: number) => string;
}

const RPS_CHART: ChartSpec = {
  format: (v) => (v >= 10 ? v.toFixed(0) : v.toFixed(1)),
  series: [{ label: 'req/s', color: '#4fc1ff', values: (s) => s.rps }],
};
const ERRORS_CHART: ChartSpec = {
  yRange: [0, 1],
  format: (v) => `${Math.round(v * 100)}%`,
  series: [{ label: 'errors', color: '#f48771', values: (s) => s.error_rate }],
};
const LATENCY_CHART: ChartSpec = {
  format: (v) => (v >= 1000 ? `${(v / 1000).toFixed(1)}s` : `${Math.round(v)}ms`),
  series: [
    { label: 'p50', color: '#89d185', values: (s) => s.p50_ms },
    { label: 'p95', color: '#cca700', values: (s) => s.p95_ms },
  ],
};

interface ChartProps {
  label: string;
  testId: string;
  stats: AppStats;
  spec: ChartSpec;
}

/** One small time-series chart (uPlot on a canvas), updated in place on every poll. */
function Chart({ label, testId, stats, spec }: ChartProps) {
  const { series } = spec;
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  /** Read by the markers plugin as the chart draws; set with each new set of data. */
  const markers = useRef<AppStats['markers']>([]);

  // Built once per spec (empty); the data flows in below.
  useEffect(() => {
    const { series, yRange, format } = spec;
    if (!box.current) return;
    const opts: uPlot.Options = {
      width: CHART_W,
      height: CHART_H,
      legend: { show: false },
      cursor: { show: false },
      padding: [10, 6, 0, 0],
      plugins: [markersPlugin(() => markers.current)],
      scales: { x: { time: true }, y: yRange ? { range: yRange } : { range: (_u, _min, max) => [0, Math.max(max || 0, 1) * 1.1] } },
      axes: [
        // Seconds in the labels and room between them: a 2-minute window has few distinct minutes.
        { stroke: '#8b8b8b', grid: { show: false }, ticks: { show: false }, size: 16, space: 80, font: '10px sans-serif', values: (_u, ticks) => ticks.map((t) => wallClock(t * 1000, true)) },
        { stroke: '#8b8b8b', grid: { stroke: '#2f2f2f', width: 1 }, ticks: { show: false }, size: 40, font: '10px sans-serif', values: (_u, ticks) => ticks.map(format) },
      ],
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, spanGaps: false, points: { show: false } }))],
    };
    const empty = [[], ...series.map(() => [])] as uPlot.AlignedData;
    plot.current = new uPlot(opts, empty, box.current);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, [spec]);

  useEffect(() => {
    markers.current = stats.markers;
    const data = [stats.series.map((s) => s.t / 1000), ...series.map((x) => stats.series.map((s) => x.values(s)))] as uPlot.AlignedData;
    plot.current?.setData(data);
  }, [stats, series]);

  return (
    <figure className="live-chart" data-testid={testId}>
      <figcaption>
        {label}
        {series.length > 1 &&
          series.map((s) => (
            <span key={s.label} className="live-key" style={{ color: s.color }}>
              {s.label}
            </span>
          ))}
      </figcaption>
      <div ref={box} role="img" aria-label={`${label} over the last ${WINDOW_S / 60} minutes`} />
    </figure>
  );
}

/**
 * The interviewer's live view of the candidate's app: requests per second, error rate and p50/p95
 * latency over the last minutes (with scenario, reset and file-saved markers), and the latest
 * requests. Polled every second. Never rendered, nor fetched, for the candidate.
 */
export function AppLive() {
  const { api } = useSession();
  const [stats, setStats] = useState<AppStats | null>(null);
  const [error, setError] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    try {
      setStats(await api.chaos.appStats(WINDOW_S, STEP_S));
      setError(null);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 0 ? 'Cannot reach the server. Retrying…' : `Live view: ${(err as Error).message}`);
    }
  }, [api]);
  usePolling(refresh, 1000);

  if (!stats) return <p className="chaos-note">{error ?? 'Loading…'}</p>;
  // The last complete step is the freshest figure; the current one is still filling.
  const recent = stats.series.slice(-3, -1).filter((s) => s.requests > 0);
  const lastErr = recent.length ? recent.reduce((a, s) => a + s.errors, 0) / recent.reduce((a, s) => a + s.requests, 0) : null;
  const t = stats.totals;
  return (
    <div className="live-panel" data-testid="live-panel">
      {!stats.recording && <p className="chaos-note">Recording is off on this server (--app-traffic-recording false).</p>}
      {error && <p className="chaos-error">{error}</p>}
      <dl className="live-figures">
        <div>
          <dt>Requests</dt>
          <dd data-testid="live-requests">{t.requests}</dd>
        </div>
        <div>
          <dt>Errors</dt>
          <dd data-testid="live-error-rate" data-value={t.error_rate ?? ''} data-recent={lastErr ?? ''} className={t.error_rate ? 'bad' : ''}>
            {pct(t.error_rate)}
          </dd>
        </div>
        <div>
          <dt>p50</dt>
          <dd data-testid="live-p50">{ms(t.p50_ms)}</dd>
        </div>
        <div>
          <dt>p95</dt>
          <dd data-testid="live-p95">{ms(t.p95_ms)}</dd>
        </div>
      </dl>
      <p className="live-caption">Last {WINDOW_S / 60} minutes, {STEP_S} s steps · 5xx and dropped connections count as errors</p>
      <Chart label="Requests/s" testId="live-chart-rps" stats={stats} spec={RPS_CHART} />
      <Chart label="Error rate" testId="live-chart-errors" stats={stats} spec={ERRORS_CHART} />
      <Chart label="Latency" testId="live-chart-latency" stats={stats} spec={LATENCY_CHART} />
      {stats.markers.length > 0 && (
        <ul className="live-markers" aria-label="Markers" data-testid="live-markers">
          {stats.markers
            .slice(-4)
            .reverse()
            .map((m) => (
              <li key={`${m.at}-${m.label}`}>
                <span className="live-dot" style={{ background: MARKER_COLORS[m.kind] ?? '#ccc' }} aria-hidden="true" />
                {wallClock(m.at, true)} {m.label}
              </li>
            ))}
        </ul>
      )}
      <h3 className="live-h">Latest requests</h3>
      {stats.latest.length === 0 ? (
        <p className="chaos-note">No requests yet.</p>
      ) : (
        <table className="live-latest" data-testid="live-latest">
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Request</th>
              <th scope="col">Time</th>
            </tr>
          </thead>
          <tbody>
            {stats.latest.slice(0, 12).map((r, i) => (
              <tr key={`${r.at}-${i}`} title={`${wallClock(r.at, true)} · ${r.origin} · ${r.bytes} bytes`}>
                <td className={r.status === 0 || r.status >= 500 ? 'bad' : r.status >= 400 ? 'warn' : 'ok'}>{r.status === 0 ? 'drop' : r.status}</td>
                <td className="live-path">
                  {r.method} {r.path}
                  {r.origin !== 'candidate' && <span className="muted"> · {r.origin}</span>}
                </td>
                <td>{ms(r.ms)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
