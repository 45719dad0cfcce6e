import type { CircuitRecord, RunRecord } from '../../store/types.ts';
import { consoleUrl, Csrf, html, Time, type VNode } from '../html.ts';

/** What the Recipes page shows of flow control: paused recipes (with the runs each holds), circuits, held runs. */
export interface FlowView {
  paused: Map<string, number>;
  circuits: CircuitRecord[];
  held: Record<string, number>;
  csrf: string;
  now: number;
}

/** "waiting for rate (slack)" next to a queued run's status, when flow control holds it. */
export function Held({ run }: { run: Pick<RunRecord, 'hold' | 'status'> }): VNode | null {
  if (!run.hold || (run.status !== 'queued' && run.status !== 'retrying')) return null;
  const [reason, connection] = run.hold.split(':', 2);
  return html` <span class="tag warn" data-hold=${run.hold} title="held by flow control: no attempt is spent while it waits">waiting for ${reason} (${connection})</span>`;
}

/** The pause or resume button of a recipe (a POST with the session's CSRF token). */
export function PauseButton({ recipe, flow }: { recipe: string; flow: FlowView }): VNode {
  const held = flow.paused.get(recipe);
  const action = held === undefined ? 'pause' : 'resume';
  return html`<span class="flow" data-paused=${held === undefined ? 'false' : 'true'}>
    ${held === undefined ? null : html`<span class="tag warn">paused · ${held} held</span> `}
    <form method="post" class="inline" action=${consoleUrl(`/recipes/${encodeURIComponent(recipe)}/${action}`)}>
      <${Csrf} token=${flow.csrf} />
      <button type="submit" title=${held === undefined ? 'hold its new runs (they are still created) until resumed, on every instance' : 'run the runs it held, in their order'}>${held === undefined ? 'Pause' : 'Resume'}</button>
    </form>
  </span>`;
}

/** Circuits open (or counting failures) and runs held, above the recipes; nothing when all flows. */
export function FlowSummary({ flow }: { flow: FlowView }): VNode | null {
  const circuits = flow.circuits.filter((c) => c.state === 'open' || c.failures > 0);
  const held = Object.entries(flow.held);
  if (circuits.length === 0 && held.length === 0 && flow.paused.size === 0) return null;
  return html`<section class="flow-summary">
    <h2>Flow control</h2>
    <ul>
      ${circuits.map(
        (c) => html`<li data-circuit=${c.connection}>
          ${c.state === 'open'
            ? html`<span class="tag warn">circuit open</span> <strong>${c.connection}</strong>: ${c.failures} failed attempts; a probe goes <${Time} ms=${c.reopenAt} now=${flow.now} />`
            : html`<strong>${c.connection}</strong>: ${c.failures} consecutive failed attempt${c.failures === 1 ? '' : 's'} (circuit closed)`}
        </li>`,
      )}
      ${held.map(([hold, n]) => html`<li>${n} run${n === 1 ? '' : 's'} waiting for ${hold.replace(':', ' (')})</li>`)}
      ${[...flow.paused].map(([recipe, n]) => html`<li><strong>${recipe}</strong> paused, ${n} run${n === 1 ? '' : 's'} held</li>`)}
    </ul>
  </section>`;
}
