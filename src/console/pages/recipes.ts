import type { recipesJson } from '../../admin/operations.ts';
import { runStatuses } from '../../admin/operations.ts';
import type { RunRecord } from '../../store/types.ts';
import { Badge, consoleUrl, eventUrl, html, Notice, Time, type VNode } from '../html.ts';
import { FlowSummary, Held, PauseButton, type FlowView } from './flow.ts';

type RecipesJson = ReturnType<typeof recipesJson>;
export const recentRuns = 500;

export function Recipes({ data, counts, flow, notice, noticeKind }: { data: RecipesJson; counts: Map<string, Record<string, number>>; flow: FlowView; notice?: string | undefined; noticeKind?: 'ok' | 'error' }): VNode {
  return html`<div>
    <${Notice} text=${notice} kind=${noticeKind} />
    <${FlowSummary} flow=${flow} />
    ${data.errors.length > 0
      ? html`<section class="problems" role="alert">
          <h2>Refused files (${data.errors.length} problem${data.errors.length === 1 ? '' : 's'})</h2>
          <p class="muted small">A refused file does not run; when it had a valid version before, that version keeps running.</p>
          <ul>${data.errors.map((e) => html`<li><code>${e.text}</code></li>`)}</ul>
        </section>`
      : html`<p class="muted">Every recipe file validated.</p>`}
    <table class="recipes">
      <thead><tr><th>recipe</th><th>on</th><th>steps</th><th class="num">tests</th><th>runs (latest ${recentRuns})</th><th>flow</th></tr></thead>
      <tbody>
        ${data.recipes.length === 0 ? html`<tr><td colspan="6" class="muted">No recipe loaded.</td></tr>` : null}
        ${data.recipes.map((r) => {
          const c = counts.get(r.name) ?? {};
          return html`<tr data-recipe=${r.name}>
            <td>
              <a href=${consoleUrl(`/recipes/${encodeURIComponent(r.name)}`)}>${r.name}</a>${r.enabled ? null : html` <span class="tag">disabled</span>`}
              ${r.refused_change ? html` <span class="tag warn" title="the file changed and the change was refused; this is the previous version">change refused</span>` : null}
              ${r.description ? html`<br /><span class="muted small">${r.description}</span>` : null}
              <br /><span class="muted small">${r.file}</span>
            </td>
            <td>${r.on.map((o) => html`<code>${o}</code> `)}</td>
            <td>${r.steps.map((s) => html`<span class="step">${s.id} <code>${s.action}</code></span> `)}</td>
            <td class="num">${r.tests}</td>
            <td>${Object.keys(c).length === 0 ? html`<span class="muted">none</span>` : Object.entries(c).map(([status, n]) => html`<a href=${consoleUrl(`/recipes/${encodeURIComponent(r.name)}`, { status })}><${Badge} status=${status} /> ${n}</a> `)}</td>
            <td><${PauseButton} recipe=${r.name} flow=${flow} /></td>
          </tr>`;
        })}
      </tbody>
    </table>
  </div>`;
}

export interface RecipeRunRow {
  run: RunRecord;
  event: { id: string; seq: number } | undefined;
}

export function RecipeRuns({ name, recipe, status, rows, now }: { name: string; recipe: RecipesJson['recipes'][number] | undefined; status: string | undefined; rows: RecipeRunRow[]; now: number }): VNode {
  return html`<div>
    ${recipe
      ? html`<dl class="facts">
          <dt>file</dt><dd><code>${recipe.file}</code></dd>
          <dt>on</dt><dd>${recipe.on.join(', ')}</dd>
          <dt>steps</dt><dd>${recipe.steps.map((s) => `${s.id} (${s.action})`).join(' → ')}</dd>
          ${recipe.description ? html`<dt>description</dt><dd>${recipe.description}</dd>` : null}
        </dl>`
      : html`<p class="muted">No recipe named “${name}” is loaded now; its past runs are below.</p>`}
    <form method="get" class="filters">
      <label>Status
        <select name="status">
          <option value="">any</option>
          ${runStatuses.filter((s) => s !== 'failed').map((s) => html`<option value=${s} selected=${status === s}>${s}</option>`)}
        </select>
      </label>
      <button type="submit">Filter</button>
    </form>
    <table class="runs-table">
      <thead><tr><th>updated</th><th>run</th><th>status</th><th>event</th><th>error</th></tr></thead>
      <tbody>
        ${rows.length === 0 ? html`<tr><td colspan="5" class="muted">No runs.</td></tr>` : null}
        ${rows.map(
          ({ run, event }) => html`<tr>
            <td><${Time} ms=${run.updatedAt} now=${now} /></td>
            <td><code>${run.id}</code></td>
            <td><${Badge} status=${run.status} /><${Held} run=${run} /></td>
            <td>${event ? html`<a href=${`${eventUrl(event.id, event.seq)}#run-${run.id}`}>${event.id}</a>` : `seq ${run.eventSeq}`}</td>
            <td class="error">${run.error ?? ''}</td>
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}
