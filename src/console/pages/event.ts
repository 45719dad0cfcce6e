import { Held } from './flow.ts';
import type { AttemptRecord, EventRecord, RunDetail } from '../../store/types.ts';
import { Badge, bytes, clipped, consoleUrl, Csrf, duration, eventUrl, html, isoTime, Json, Notice, Time, type VNode } from '../html.ts';
import { notableSkip, stepsOf } from '../../admin/run-view.ts';
import { eventOutcome, outcomeHelp } from '../outcome.ts';
import { shownPayload } from '../../admin/payload.ts';
import { sanitizeContentType, sanitizeFilename } from '../../domain/attachments.ts';

export interface EventDetailData {
  event: EventRecord;
  /** seq of every receipt of this id, newest first. */
  receipts: number[];
  runs: RunDetail[];
  /** Step ids (and actions) of each loaded recipe, to show the steps a run has not reached. */
  recipeSteps: Map<string, Array<{ id: string; action: string }>>;
  now: number;
  csrf: string;
  notice?: string | undefined;
  noticeKind?: 'ok' | 'error';
}

const finalRun = ['done', 'dead', 'skipped'];

/** Whether the runs section should keep polling: the event or one of its runs is still moving. */
export function unsettled(event: EventRecord, runs: RunDetail[]): boolean {
  return event.status === 'received' || runs.some((r) => !finalRun.includes(r.status) && r.status !== 'waiting');
}

interface Attachment {
  filename?: unknown;
  content_type?: unknown;
  size_bytes?: unknown;
  sha256?: unknown;
  saved?: unknown;
  reason?: unknown;
}

/** The payload with attachments taken out (listed beside it, never inlined), and the list. */
export function splitAttachments(payload: unknown): { shown: unknown; attachments: Attachment[] } {
  if (typeof payload !== 'object' || payload === null || !Array.isArray((payload as { attachments?: unknown }).attachments)) return { shown: payload, attachments: [] };
  const list = (payload as { attachments: unknown[] }).attachments.filter((a): a is Attachment => typeof a === 'object' && a !== null);
  return { shown: { ...(payload as object), attachments: `[${list.length} attachment${list.length === 1 ? '' : 's'}: listed below the payload]` }, attachments: list };
}

function AttemptRow({ a }: { a: AttemptRecord }): VNode {
  return html`<tr class=${`attempt o-${a.outcome}`}>
    <td>${a.stepId}</td>
    <td class="num">${a.attempt}</td>
    <td><${Badge} status=${a.outcome} /></td>
    <td class="num">${a.statusCode ?? ''}</td>
    <td>${isoTime(a.startedAt)}</td>
    <td class="num">${duration(a.durationMs)}</td>
    <td class="error">${a.error ?? ''}</td>
    <td>
      ${a.request !== undefined && a.request !== null ? html`<details><summary>request</summary><${Json} value=${a.request} label="request sent" /></details>` : null}
      ${a.response !== undefined && a.response !== null ? html`<details><summary>response</summary><${Json} value=${a.response} label="response" /></details>` : null}
    </td>
  </tr>`;
}

export function Run({ run, steps, now }: { run: RunDetail; steps: Array<{ id: string; action: string }> | undefined; now: number }): VNode {
  const actions = new Map((steps ?? []).map((s) => [s.id, s.action]));
  const view = stepsOf(run, steps?.map((s) => s.id));
  const skips = view.steps.filter(notableSkip);
  return html`<section class=${`run r-${run.status}`} id=${`run-${run.id}`} data-run=${run.id} data-recipe=${run.recipe}>
    <h3><${Badge} status=${run.status} /><${Held} run=${run} />${skips.map((s) => html` <span class="tag warn">step ${s.id} skipped: ${s.reason}</span>`)} ${run.recipe} <small class="muted">run ${run.id}${run.recipeVersion ? ` · version ${run.recipeVersion}` : ''}${run.generation > 0 ? ` · replay ${run.generation}` : ''}</small></h3>
    <dl class="facts">
      <dt>created</dt><dd><${Time} ms=${run.createdAt} now=${now} /></dd>
      <dt>updated</dt><dd><${Time} ms=${run.updatedAt} now=${now} /></dd>
      <dt>took</dt><dd>${finalRun.includes(run.status) ? duration(run.updatedAt - run.createdAt) : '—'}</dd>
      ${run.key !== null ? html`<dt>key</dt><dd><code>${run.key}</code></dd>` : null}
      ${run.status === 'retrying' || run.status === 'queued' ? html`<dt>next attempt</dt><dd><${Time} ms=${run.availableAt} now=${now} /></dd>` : null}
      ${run.status === 'retrying' && run.attempt > 0 ? html`<dt>failed attempts</dt><dd>${run.attempt} of the current step since it was last queued</dd>` : null}
    </dl>
    ${run.error ? html`<p class="run-error" role="alert"><strong>Error:</strong> ${run.error}</p>` : null}
    ${run.status === 'dead' ? html`<p><a class="button danger" href=${consoleUrl(`/runs/${encodeURIComponent(run.id)}/retry`)}>Retry this run…</a></p>` : null}
    <table class="steps">
      <thead><tr><th>step</th><th>action</th><th>status</th><th>started</th><th>took</th><th>output</th></tr></thead>
      <tbody>
        ${view.steps.map(
          (s) => html`<tr data-step=${s.id}>
            <td>${s.id}</td>
            <td><code>${actions.get(s.id) ?? ''}</code></td>
            <td>
              ${s.status === 'not reached' ? html`<span class="muted">not reached</span>` : html`<${Badge} status=${s.status} />`}
              ${s.attempts.length > 1 || s.status === 'failed' ? html` <span class="muted small">${s.attempts.length} attempt${s.attempts.length === 1 ? '' : 's'}</span>` : null}
              ${s.reason && s.status !== 'done' ? html`<div class=${s.status === 'skipped' ? 'small' : 'small error'}>${s.reason}</div>` : null}
            </td>
            <td>${isoTime(s.startedAt)}</td>
            <td class="num">${s.startedAt !== null && s.finishedAt !== null ? duration(s.finishedAt - s.startedAt) : ''}</td>
            <td>${s.output !== undefined && s.output !== null ? html`<details><summary>output</summary><${Json} value=${s.output} label="step output" /></details>` : null}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${view.attempts.length > 0
      ? html`<table class="attempts">
          <thead><tr><th>step</th><th class="num">#</th><th>outcome</th><th class="num">status</th><th>started</th><th class="num">duration</th><th>error</th><th>request / response</th></tr></thead>
          <tbody>${view.attempts.map((a) => html`<${AttemptRow} a=${a} />`)}</tbody>
        </table>`
      : html`<p class="muted small">No attempt recorded yet.</p>`}
  </section>`;
}

/** The runs section; polls itself while anything is still moving. */
export function Runs({ data }: { data: Pick<EventDetailData, 'event' | 'runs' | 'recipeSteps' | 'now'> }): VNode {
  const { event, runs, now } = data;
  const live = unsettled(event, runs);
  const current = runs.filter((r) => r.generation === event.generation);
  const earlier = runs.filter((r) => r.generation !== event.generation);
  const outcome = eventOutcome(event, runs);
  return html`<div
    id="runs"
    hx-get=${live ? consoleUrl('/live/runs', { id: event.eventId, seq: event.seq }) : undefined}
    hx-trigger=${live ? 'every 2s' : undefined}
    hx-swap=${live ? 'outerHTML' : undefined}
    data-outcome=${outcome}
  >
    <p>Outcome: <${Badge} status=${outcome} title=${outcomeHelp[outcome]} /> <span class="muted small">${outcomeHelp[outcome]}${live ? html` · updating<noscript> (without JavaScript, reload the page)</noscript>` : ''}</span></p>
    ${event.status === 'received' ? html`<p class="muted">Waiting for the dispatcher…</p>` : null}
    ${event.status === 'failed'
      ? html`<p class="run-error" role="alert" data-dispatch-error>
          <strong>Dispatch failed:</strong> ${event.dispatchError} <br />
          <span class="small">This event was set aside and the events after it were dispatched. Fix the cause, then replay it: it is dispatched as if for the first time.</span>
        </p>`
      : null}
    ${event.status === 'dispatched' && current.length === 0 ? html`<p class="muted">No recipe matched this event.</p>` : null}
    ${current.map((run) => html`<${Run} run=${run} steps=${data.recipeSteps.get(run.recipe)} now=${now} />`)}
    ${earlier.length > 0
      ? html`<details><summary>${earlier.length} run${earlier.length === 1 ? '' : 's'} of earlier deliveries or replays</summary>
          ${earlier.map((run) => html`<${Run} run=${run} steps=${data.recipeSteps.get(run.recipe)} now=${now} />`)}
        </details>`
      : null}
  </div>`;
}

export function EventDetail({ data }: { data: EventDetailData }): VNode {
  const { event: e, now } = data;
  const body = shownPayload(e.body); // cut at a depth: a 100 000-deep event is shown, not a 500
  const { shown, attachments } = splitAttachments(body.payload);
  const headers = Object.entries(e.headers).sort(([a], [b]) => a.localeCompare(b));
  return html`<div>
    <${Notice} text=${data.notice} kind=${data.noticeKind} />
    <dl class="facts">
      <dt>source</dt><dd>${e.source}</dd>
      <dt>type</dt><dd><code>${e.type}</code>${e.test ? html` <span class="tag">test</span>` : null}</dd>
      <dt>event id</dt><dd><code>${e.eventId}</code></dd>
      <dt>received</dt><dd>${isoTime(e.receivedAt)} (<${Time} ms=${e.receivedAt} now=${now} />)</dd>
      <dt>seq</dt><dd>${e.seq}</dd>
      <dt>status</dt><dd>${e.status}${e.generation > 0 ? ` · replay ${e.generation}` : ''}</dd>
      ${data.receipts.length > 1
        ? html`<dt>receipts</dt><dd>${data.receipts.map((seq) => (seq === e.seq ? html`<strong>#${seq} </strong>` : html`<a href=${eventUrl(e.eventId, seq)}>#${seq}</a> `))}</dd>`
        : null}
    </dl>
    <form method="post" action=${consoleUrl(`/events/${encodeURIComponent(e.eventId)}/replay`, { seq: e.seq })} class="inline">
      <${Csrf} token=${data.csrf} />
      <button type="submit" title="Runs every matching recipe again (finished steps of the earlier runs are not affected)">Replay this event</button>
    </form>
    <h2>Runs</h2>
    <${Runs} data=${data} />
    <h2>Headers</h2>
    <p class="muted small">As stored: signatures, cookies and credentials are never kept.</p>
    <table class="compact headers">
      <tbody>${headers.map(([k, v]) => html`<tr><th scope="row"><code>${k}</code></th><td><code>${v}</code></td></tr>`)}</tbody>
    </table>
    <h2>Payload</h2>
    ${body.note ? html`<p class="muted small">This payload is ${body.note}.</p>` : null}
    <${Json} value=${shown} label="payload" />
    ${body.note ? html`<details><summary>raw body (as text)</summary><pre class="json" aria-label="raw body">${clipped(e.body)}</pre></details>` : null}
    ${attachments.length > 0
      ? html`<h3>Attachments</h3>
          <table class="compact attachments">
            <thead><tr><th>file</th><th>type</th><th class="num">size</th><th>saved</th><th>sha256 / reason</th></tr></thead>
            <tbody>
              ${attachments.map(
                (a) => html`<tr>
                  <td>${sanitizeFilename(a.filename)}</td>
                  <td><code>${sanitizeContentType(a.content_type)}</code></td>
                  <td class="num">${typeof a.size_bytes === 'number' ? bytes(a.size_bytes) : ''}</td>
                  <td>${a.saved === true ? 'yes' : a.saved === false ? 'no' : '?'}</td>
                  <td><code>${String(a.sha256 ?? a.reason ?? '')}</code></td>
                </tr>`,
              )}
            </tbody>
          </table>`
      : null}
  </div>`;
}
