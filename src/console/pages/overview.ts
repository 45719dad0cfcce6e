import type { RunStatus } from '../../store/types.ts';
import { Lines, StackedBars, type Series } from '../charts.ts';
import { consoleUrl, html, type VNode } from '../html.ts';
import { quantile, sumAck, type Minute } from '../sampler.ts';

export interface OverviewData {
  minutes: Minute[];
  bounds: number[];
  counts: Partial<Record<RunStatus, number>>;
  recipes: number;
  recipeErrors: number;
  store: { kind: string; ready: true | string };
  receiving: string[];
}

const receiveOrder = ['accepted', 'duplicate', 'rejected'];

/** "muro signature_mismatch" -> "muro rejected" for the chart; the table below keeps the codes. */
function chartKey(key: string): string {
  const [source, outcome] = key.split(' ') as [string, string];
  return receiveOrder.includes(outcome) ? key : `${source} rejected`;
}

function keyOrder(a: string, b: string): number {
  const [sa, oa] = a.split(' ') as [string, string];
  const [sb, ob] = b.split(' ') as [string, string];
  return sa === sb ? receiveOrder.indexOf(oa) - receiveOrder.indexOf(ob) : sa.localeCompare(sb);
}

export function Overview({ data }: { data: OverviewData }): VNode {
  const { minutes, bounds, counts } = data;
  const starts = minutes.map((m) => m.start);

  const receivedKeys = [...new Set(minutes.flatMap((m) => Object.keys(m.received).map(chartKey)))].sort(keyOrder);
  // Three tones per source (accepted, duplicate, rejected), in the order the sources are received.
  const toneOf = (key: string) => {
    const [source, outcome] = key.split(' ') as [string, string];
    const at = data.receiving.indexOf(source);
    return at < 0 ? 7 : (at * 3 + receiveOrder.indexOf(outcome)) % 8;
  };
  const received: Series[] = receivedKeys.map((key) => ({
    label: key,
    tone: toneOf(key),
    values: minutes.map((m) => Object.entries(m.received).reduce((sum, [k, v]) => (chartKey(k) === key ? sum + v : sum), 0)),
  }));
  const rejections = new Map<string, number>();
  for (const m of minutes) for (const [k, v] of Object.entries(m.received)) if (chartKey(k) !== k) rejections.set(k, (rejections.get(k) ?? 0) + v);

  const runKeys = ['done', 'dead'].filter((k) => minutes.some((m) => (m.runs[k] ?? 0) > 0));
  const runs: Series[] = runKeys.map((k) => ({ label: `runs ${k}`, tone: k === 'done' ? 3 : 2, values: minutes.map((m) => m.runs[k] ?? 0) }));

  const ms = (q: number, ack: number[]) => {
    const v = quantile(q, bounds, ack);
    return v === undefined ? undefined : v * 1000;
  };
  const latency: Series[] = [
    { label: 'p50', tone: 0, values: minutes.map((m) => ms(0.5, m.ack)) },
    { label: 'p99', tone: 5, values: minutes.map((m) => ms(0.99, m.ack)) },
  ];
  const queueStates = ['queued', 'running', 'retrying', 'waiting'] as const;
  const queueTones = { queued: 0, running: 1, retrying: 5, waiting: 6 };
  const queue: Series[] = queueStates.map((state) => ({ label: state, tone: queueTones[state], values: minutes.map((m) => (m.queue ? (m.queue[state] ?? 0) : undefined)) }));
  const dead: Series[] = [{ label: 'dead letters', tone: 2, values: minutes.map((m) => (m.queue ? (m.queue.dead ?? 0) : undefined)) }];

  const total = (pred: (key: string) => boolean) => minutes.reduce((sum, m) => sum + Object.entries(m.received).reduce((s, [k, v]) => (pred(k) ? s + v : s), 0), 0);
  const accepted = total((k) => k.endsWith(' accepted'));
  const rejected = total((k) => chartKey(k).endsWith(' rejected'));
  const last5 = sumAck(minutes.slice(-5));
  const p50 = ms(0.5, last5);
  const p99 = ms(0.99, last5);
  const depth = queueStates.reduce((sum, s) => sum + (counts[s] ?? 0), 0);
  const deadNow = counts.dead ?? 0;
  const fmtMs = (v: number | undefined) => (v === undefined ? '—' : v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`);

  return html`<div id="overview" hx-get="/console/live/overview" hx-trigger="every 10s" hx-swap="outerHTML">
    <section class="tiles">
      <a class="tile" href=${consoleUrl('/events')}><span class="n">${accepted}</span><span class="l">events accepted, last hour</span></a>
      <div class="tile"><span class=${`n${rejected > 0 ? ' warn' : ''}`}>${rejected}</span><span class="l">webhooks rejected, last hour</span></div>
      <div class="tile"><span class="n">${fmtMs(p50)} / ${fmtMs(p99)}</span><span class="l">ack latency p50 / p99, last 5 min</span></div>
      <a class="tile" href=${consoleUrl('/events', { outcome: 'running' })}><span class="n">${depth}</span><span class="l">runs in the queue (${queueStates.map((s) => `${counts[s] ?? 0} ${s}`).join(', ')})</span></a>
      <a class="tile" href="/console/dead"><span class=${`n${deadNow > 0 ? ' bad' : ''}`}>${deadNow}</span><span class="l">dead letters</span></a>
      <a class="tile" href="/console/recipes"><span class="n">${data.recipes}</span><span class="l">recipes loaded${data.recipeErrors > 0 ? html`, <strong class="bad-text">${data.recipeErrors} problem${data.recipeErrors === 1 ? '' : 's'} in refused files</strong>` : ''}</span></a>
    </section>
    <p class="muted small">
      Store: ${data.store.kind}, ${data.store.ready === true ? 'reachable' : html`<strong class="bad-text">not reachable: ${data.store.ready}</strong>`}.
      Receiving: ${data.receiving.length ? data.receiving.join(', ') : 'no webhooks on this instance'}.
      Webhook counts and latency are this instance's since it started (plus accepted events of the hour before, from the store); queue and dead letters are the store's.
    </p>
    <div class="charts">
      <${StackedBars} title="Webhooks per minute, by source and outcome" series=${received} starts=${starts} />
      <${Lines} title="Ack latency per minute (ms)" series=${latency} starts=${starts} unit=" ms" />
      <${Lines} title="Queue depth (runs by state)" series=${queue} starts=${starts} />
      <${Lines} title="Dead letters" series=${dead} starts=${starts} />
      <${StackedBars} title="Runs finished per minute" series=${runs} starts=${starts} />
    </div>
    ${rejections.size > 0
      ? html`<section>
          <h2>Rejected webhooks, last hour</h2>
          <table class="compact">
            <thead><tr><th>source</th><th>reason</th><th class="num">count</th></tr></thead>
            <tbody>${[...rejections].sort((a, b) => b[1] - a[1]).map(([k, v]) => html`<tr><td>${k.split(' ')[0]}</td><td><code>${k.split(' ')[1]}</code></td><td class="num">${v}</td></tr>`)}</tbody>
          </table>
        </section>`
      : null}
  </div>`;
}
