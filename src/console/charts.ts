import { html, isoTime, type VNode } from './html.ts';

/**
 * Charts as inline SVG rendered on the server: no chart library, no script, readable without
 * JavaScript, and every value carries a <title> (shown on hover). Colours come from CSS classes
 * (s0…s7), so the page needs no inline style under its Content-Security-Policy.
 */

const W = 720;
const H = 170;
const left = 44;
const bottom = 18;
const top = 8;
const plotH = H - bottom - top;

export interface Series {
  label: string;
  /** One value per minute; undefined where there is no data. */
  values: Array<number | undefined>;
  /** Colour class s0…s7 (default: by position). */
  tone?: number;
}

const tone = (s: Series, i: number) => `s${(s.tone ?? i) % 8}`;

function niceMax(max: number): number {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

function Axes({ max, unit, starts }: { max: number; unit: string; starts: number[] }): VNode {
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const ticks = [0, max / 2, max];
  const plotW = W - left;
  const first = starts[0] ?? 0;
  const last = starts[starts.length - 1] ?? 0;
  return html`<g class="axes">
    ${ticks.map((t) => html`<g><line x1=${left} x2=${W} y1=${y(t)} y2=${y(t)} class="grid" /><text x=${left - 4} y=${y(t) + 4} text-anchor="end">${formatTick(t)}${unit}</text></g>`)}
    <text x=${left} y=${H - 4}>${isoTime(first).slice(11, 16)}</text>
    <text x=${left + plotW / 2} y=${H - 4} text-anchor="middle">${isoTime(starts[30] ?? first).slice(11, 16)}</text>
    <text x=${W} y=${H - 4} text-anchor="end">${isoTime(last).slice(11, 16)} UTC</text>
  </g>`;
}

function formatTick(v: number): string {
  if (v === 0) return '0';
  if (v >= 100) return String(Math.round(v));
  return String(Number(v.toPrecision(2)));
}

function Legend({ series }: { series: Series[] }): VNode {
  return html`<ul class="legend">
    ${series.map((s, i) => html`<li><span class=${`sw ${tone(s, i)}`}></span>${s.label}</li>`)}
  </ul>`;
}

/** Stacked bars, one per minute. */
export function StackedBars({ title, series, starts, unit = '' }: { title: string; series: Series[]; starts: number[]; unit?: string }): VNode {
  const n = starts.length;
  const totals = starts.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const slot = (W - left) / Math.max(n, 1);
  const barW = Math.max(slot - 2, 1);
  const bars: VNode[] = [];
  starts.forEach((start, i) => {
    let base = 0;
    series.forEach((s, k) => {
      const v = s.values[i] ?? 0;
      if (v <= 0) return;
      const h = (v / max) * plotH;
      const y = top + plotH - ((base + v) / max) * plotH;
      base += v;
      bars.push(html`<rect x=${left + i * slot + 1} y=${y} width=${barW} height=${Math.max(h, 0.5)} class=${tone(s, k)}><title>${`${isoTime(start).slice(11, 16)} ${s.label}: ${v}${unit}`}</title></rect>`);
    });
  });
  return html`<figure class="chart">
    <figcaption>${title}</figcaption>
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${title}>
      <${Axes} max=${max} unit=${unit} starts=${starts} />
      ${bars}
    </svg>
    ${series.length > 0 ? html`<${Legend} series=${series} />` : html`<p class="muted small">nothing in the last hour</p>`}
  </figure>`;
}

/** Lines, one point per minute; gaps where there is no value. */
export function Lines({ title, series, starts, unit = '' }: { title: string; series: Series[]; starts: number[]; unit?: string }): VNode {
  const n = starts.length;
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values.filter((v): v is number => v !== undefined))));
  const slot = (W - left) / Math.max(n, 1);
  const x = (i: number) => left + i * slot + slot / 2;
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const shapes = series.map((s, k) => {
    const runs: string[][] = [];
    let current: string[] = [];
    s.values.forEach((v, i) => {
      if (v === undefined) {
        if (current.length) runs.push(current);
        current = [];
      } else current.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
    });
    if (current.length) runs.push(current);
    return html`<g class=${`line ${tone(s, k)}`}>
      ${runs.map((pts) => (pts.length > 1 ? html`<polyline points=${pts.join(' ')} />` : null))}
      ${s.values.map((v, i) => (v === undefined ? null : html`<circle cx=${x(i)} cy=${y(v)} r="2"><title>${`${isoTime(starts[i]!).slice(11, 16)} ${s.label}: ${formatTick(v)}${unit}`}</title></circle>`))}
    </g>`;
  });
  return html`<figure class="chart">
    <figcaption>${title}</figcaption>
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${title}>
      <${Axes} max=${max} unit=${unit} starts=${starts} />
      ${shapes}
    </svg>
    <${Legend} series=${series} />
  </figure>`;
}
