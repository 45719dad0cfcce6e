import type { EventRecord, RunDetail } from '../../store/types.ts';
import { Badge, consoleUrl, Csrf, eventUrl, html, Notice, type VNode } from '../html.ts';
import { eventOutcome, outcomeHelp } from '../outcome.ts';
import { unsettled } from './event.ts';

export interface SendForm {
  receiving: string[];
  samples: Record<string, string[]>;
  /** Form values to keep after an error. */
  chosen?: string | undefined;
  payload?: string | undefined;
  error?: string | undefined;
  csrf: string;
}

export interface Sent {
  source: string;
  id: string;
  status: number;
  answer: string;
}

export function SendPage({ form, sent, arrival }: { form: SendForm; sent: Sent | undefined; arrival?: VNode | undefined }): VNode {
  if (form.receiving.length === 0) {
    return html`<p>This instance does not receive webhooks (it runs with <code>--no-receiver</code>), so it cannot send itself a test event.</p>`;
  }
  const chosen = form.chosen;
  return html`<div class="send">
    <p class="muted">Signs a sample event with this instance's configured (or generated development) secret, exactly as <code>hookline send</code> does, and posts it to this instance's own webhook path. muro samples carry <code>data.test: true</code>.</p>
    <${Notice} text=${form.error} kind="error" />
    <form method="post" action="/console/send" class="send-form">
      <${Csrf} token=${form.csrf} />
      <label>Source and type
        <select name="event">
          ${form.receiving.map(
            (source) => html`<optgroup label=${source}>
              ${(form.samples[source] ?? []).map((name) => html`<option value=${`${source}/${name}`} selected=${chosen === `${source}/${name}`}>${source} ${name}</option>`)}
            </optgroup>`,
          )}
        </select>
      </label>
      <button type="button" class="secondary" hx-get="/console/live/sample" hx-include="[name=event]" hx-target="#payload" hx-swap="outerHTML" title="Puts the chosen sample, with a fresh id, in the payload box to edit before sending">Edit the sample first</button>
      <${PayloadField} value=${form.payload ?? ''} />
      <button type="submit">Send test event</button>
    </form>
    ${sent ? html`<${SentPanel} sent=${sent} arrival=${arrival} />` : null}
  </div>`;
}

export function PayloadField({ value }: { value: string }): VNode {
  return html`<label id="payload" class="block">Payload (optional: leave empty to send the sample as is, with a fresh id)
    <textarea name="payload" rows="10" spellcheck="false" placeholder="the sample's JSON, edited">${value}</textarea>
  </label>`;
}

export function SentPanel({ sent, arrival }: { sent: Sent; arrival: VNode | undefined }): VNode {
  const ok = sent.status === 200;
  return html`<section class="sent">
    <h2>Sent</h2>
    <p><code>${sent.source}</code> event <code>${sent.id}</code> → <strong class=${ok ? 'ok-text' : 'bad-text'}>${sent.status}</strong> <code>${sent.answer}</code></p>
    ${ok ? arrival : null}
  </section>`;
}

/** What became of the test event: found, dispatched, its runs (polls until they settle). */
export function Arrival({ source, id, event, runs }: { source: string; id: string; event: EventRecord | undefined; runs: RunDetail[] }): VNode {
  const live = !event || unsettled(event, runs);
  const self = consoleUrl('/live/arrival', { source, id });
  const outcome = event ? eventOutcome(event, runs) : undefined;
  return html`<div id="arrival" hx-get=${live ? self : undefined} hx-trigger=${live ? 'every 1s' : undefined} hx-swap=${live ? 'outerHTML' : undefined} data-outcome=${outcome ?? 'missing'}>
    ${event
      ? html`<p>Stored as <a href=${eventUrl(event.eventId, event.seq)}>${event.eventId}</a> (seq ${event.seq}), ${event.status === 'received' ? 'waiting for the dispatcher' : 'dispatched'}. Outcome: <${Badge} status=${outcome!} title=${outcomeHelp[outcome!]} /></p>`
      : html`<p class="muted">Not stored (yet).</p>`}
    ${event && event.status === 'dispatched' && runs.length === 0 ? html`<p>No recipe matched it.</p>` : null}
    ${runs.length > 0
      ? html`<table class="compact">
          <thead><tr><th>recipe</th><th>run</th><th>steps</th><th>error</th></tr></thead>
          <tbody>
            ${runs.map(
              (r) => html`<tr data-recipe=${r.recipe}>
                <td>${r.recipe}</td>
                <td><${Badge} status=${r.status} /></td>
                <td>${r.steps.map((s) => html`<span class="step">${s.stepId}: <${Badge} status=${typeof (s.output as { skipped?: unknown } | null)?.skipped === 'string' ? 'skipped' : s.status} title=${typeof (s.output as { skipped?: unknown } | null)?.skipped === 'string' ? String((s.output as { skipped: string }).skipped) : undefined} /></span> `)}</td>
                <td class="error">${r.error ?? ''}</td>
              </tr>`,
            )}
          </tbody>
        </table>`
      : null}
    ${live ? html`<p class="muted small">updating…<noscript> (without JavaScript, reload the page)</noscript></p>` : null}
  </div>`;
}
