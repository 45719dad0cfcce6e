import { Csrf, html, Notice, type VNode } from '../html.ts';

export interface BulkReplayData {
  /** The filter as typed (strings), to fill the form and carry into the confirmation. */
  form: Record<'since' | 'until' | 'source' | 'type' | 'recipe' | 'status', string>;
  sources: string[];
  recipes: string[];
  /** Set once the filter is given: what a replay would touch. */
  count?: { matched: number; already: number; pending: number } | undefined;
  error?: string | undefined;
  notice?: string | undefined;
}

const statuses = ['', 'dead', 'done', 'skipped', 'failed', 'waiting', 'set_aside'];

/**
 * Replay by filter: the filter form; given a filter, the count of events it selects (and how many an
 * earlier bulk replay already did) with a confirmation that replays them. The count comes first: a
 * bulk replay sends real messages again.
 */
export function BulkReplay({ data, csrf }: { data: BulkReplayData; csrf: string }): VNode {
  const { form, count } = data;
  const hidden = Object.entries(form).map(([name, value]) => (value ? html`<input type="hidden" name=${name} value=${value} />` : null));
  return html`<div>
    <${Notice} text=${data.notice} kind="ok" />
    <${Notice} text=${data.error} kind="error" />
    <p class="muted">Sends the events a filter selects through the recipes again, as “Replay this event” does for one. Times are ISO (2026-11-20T09:00:00Z) or a duration ago (2h, 7d). To see what the recipes would do first, run <code>hookline replay --dry-run</code> with the same filters.</p>
    <form method="get" action="/console/replay" class="filters">
      <label>since <input name="since" value=${form.since} placeholder="2h" /></label>
      <label>until <input name="until" value=${form.until} placeholder="now" /></label>
      <label>source <select name="source"><option value="">any</option>${data.sources.map((s) => html`<option selected=${s === form.source}>${s}</option>`)}</select></label>
      <label>type <input name="type" value=${form.type} placeholder="conversation.*" /></label>
      <label>recipe <select name="recipe"><option value="">any</option>${data.recipes.map((r) => html`<option selected=${r === form.recipe}>${r}</option>`)}</select></label>
      <label>run status <select name="status">${statuses.map((s) => html`<option value=${s} selected=${s === form.status}>${s || 'any'}</option>`)}</select></label>
      <button type="submit">Count</button>
    </form>
    ${count
      ? html`<div class="confirm" data-matched=${count.matched}>
          <p><strong>${count.matched}</strong> event${count.matched === 1 ? '' : 's'} match${count.matched === 1 ? 'es' : ''}${count.already > 0 ? html`; <strong>${count.already}</strong> already replayed by an earlier bulk replay (skipped unless you include them)` : null}${count.pending > 0 ? html`; ${count.pending} still waiting for dispatch (left alone)` : null}.</p>
          ${count.matched > 0
            ? html`<form method="post" action="/console/replay">
                <${Csrf} token=${csrf} />
                ${hidden}
                ${count.already > 0 ? html`<label><input type="checkbox" name="again" value="true" /> include the ${count.already} already replayed</label>` : null}
                <button type="submit" class="danger">Yes, replay ${count.matched - count.already > 0 ? count.matched - count.already : count.matched} event${count.matched === 1 ? '' : 's'}</button>
                <a href="/console/replay">Cancel</a>
              </form>`
            : null}
        </div>`
      : null}
  </div>`;
}
