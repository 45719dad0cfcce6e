import type { RunDetail, RunRecord } from '../../store/types.ts';
import { Badge, consoleUrl, Csrf, eventUrl, html, Notice, Time, type VNode } from '../html.ts';

export interface DeadRow {
  run: RunRecord;
  event: { id: string; seq: number; type: string; source: string } | undefined;
}

export function DeadLetters({ rows, now, notice, noticeKind }: { rows: DeadRow[]; now: number; notice?: string | undefined; noticeKind?: 'ok' | 'error' }): VNode {
  return html`<div>
    <${Notice} text=${notice} kind=${noticeKind} />
    <p class="muted">Runs that exhausted their retries or failed in a way retrying cannot fix. A retry queues the run again; its finished steps are not run again.</p>
    ${rows.length > 0 ? html`<p><a class="button danger" href="/console/dead/retry-all">Retry all ${rows.length} dead run${rows.length === 1 ? '' : 's'}…</a></p>` : null}
    <table class="dead">
      <thead><tr><th>since</th><th>recipe</th><th>event</th><th>error</th><th></th></tr></thead>
      <tbody>
        ${rows.length === 0 ? html`<tr><td colspan="5" class="muted">No dead letters.</td></tr>` : null}
        ${rows.map(
          ({ run, event }) => html`<tr data-run=${run.id}>
            <td><${Time} ms=${run.updatedAt} now=${now} /></td>
            <td>${run.recipe}</td>
            <td>${event ? html`<a href=${`${eventUrl(event.id, event.seq)}#run-${run.id}`}>${event.id}</a> <span class="muted small">${event.source} ${event.type}</span>` : html`<span class="muted">seq ${run.eventSeq}</span>`}</td>
            <td class="error">${run.error ?? ''}</td>
            <td><a class="button" href=${consoleUrl(`/runs/${encodeURIComponent(run.id)}/retry`)}>Retry…</a></td>
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

export function ConfirmRetry({ run, event, csrf }: { run: RunDetail; event: DeadRow['event']; csrf: string }): VNode {
  const done = run.steps.filter((s) => s.status !== 'waiting').map((s) => s.stepId);
  return html`<div class="confirm">
    <dl class="facts">
      <dt>run</dt><dd><code>${run.id}</code> <${Badge} status=${run.status} /></dd>
      <dt>recipe</dt><dd>${run.recipe}</dd>
      <dt>event</dt><dd>${event ? html`<a href=${eventUrl(event.id, event.seq)}>${event.id}</a>` : `seq ${run.eventSeq}`}</dd>
      <dt>error</dt><dd class="error">${run.error ?? ''}</dd>
      <dt>finished steps</dt><dd>${done.length ? `${done.join(', ')} (not run again)` : 'none'}</dd>
    </dl>
    ${run.status === 'dead'
      ? html`<form method="post" action=${consoleUrl(`/runs/${encodeURIComponent(run.id)}/retry`)}>
          <${Csrf} token=${csrf} />
          <p>Queue this run again now?</p>
          <button type="submit" class="danger">Yes, retry the run</button>
          <a href="/console/dead">Cancel</a>
        </form>`
      : html`<p>This run is not in dead letters (it is ${run.status}). <a href="/console/dead">Back to dead letters</a></p>`}
  </div>`;
}

export function ConfirmRetryAll({ count, csrf }: { count: number; csrf: string }): VNode {
  return html`<div class="confirm">
    ${count === 0
      ? html`<p>There are no dead letters. <a href="/console/dead">Back</a></p>`
      : html`<form method="post" action="/console/dead/retry-all">
          <${Csrf} token=${csrf} />
          <p>Queue all <strong>${count}</strong> dead run${count === 1 ? '' : 's'} again? Each resumes at its first unfinished step; a run whose key is held by a live run stays dead.</p>
          <button type="submit" class="danger">Yes, retry all</button>
          <a href="/console/dead">Cancel</a>
        </form>`}
  </div>`;
}
