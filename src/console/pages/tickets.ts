import { sanitizeContentType, sanitizeFilename } from '../../domain/attachments.ts';
import type { TicketDetail, TicketSummary } from '../../store/types.ts';
import { bytes, consoleUrl, eventUrl, html, isoTime, Time, type VNode } from '../html.ts';

export function Tickets({ tickets, q, status, now }: { tickets: TicketSummary[]; q: string | undefined; status: string | undefined; now: number }): VNode {
  return html`<div>
    <form method="get" action="/console/tickets" class="filters" role="search">
      <label>Search <input name="q" type="search" value=${q ?? ''} placeholder="subject or customer email" size="30" /></label>
      <label>Status <input name="status" value=${status ?? ''} placeholder="open" size="10" /></label>
      <button type="submit">Search</button>
    </form>
    <table class="tickets">
      <thead><tr><th>ticket</th><th>subject</th><th>customer</th><th>status</th><th class="num">messages</th><th>updated</th></tr></thead>
      <tbody>
        ${tickets.length === 0 ? html`<tr><td colspan="6" class="muted">No tickets${q || status ? ' match' : ' yet'}.</td></tr>` : null}
        ${tickets.map(
          (t) => html`<tr>
            <td><a href=${consoleUrl(`/tickets/${t.id}`)}>T-${t.id}</a></td>
            <td>${t.subject}</td>
            <td>${t.customer.name ? `${t.customer.name} ` : ''}<span class="muted">${t.customer.email}</span></td>
            <td>${t.status}</td>
            <td class="num">${t.messageCount}</td>
            <td><${Time} ms=${t.updatedAt} now=${now} /></td>
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

export function Ticket({ ticket, events, now }: { ticket: TicketDetail; events: Map<number, string>; now: number }): VNode {
  return html`<div>
    <dl class="facts">
      <dt>subject</dt><dd>${ticket.subject}</dd>
      <dt>customer</dt><dd>${ticket.customer.name ? `${ticket.customer.name} ` : ''}<code>${ticket.customer.email}</code></dd>
      <dt title="who may add to this ticket by replying">participants</dt><dd class="participants">${ticket.participants.map((p, i) => html`${i > 0 ? ', ' : ''}<code>${p}</code>`)}</dd>
      <dt>status</dt><dd>${ticket.status}</dd>
      <dt>opened</dt><dd>${isoTime(ticket.createdAt)}</dd>
      <dt>updated</dt><dd><${Time} ms=${ticket.updatedAt} now=${now} /></dd>
    </dl>
    ${ticket.messages.map((m) => {
      const eventId = events.get(m.eventSeq);
      return html`<article class="message">
        <header>
          <strong>${m.from}</strong> · ${isoTime(m.receivedAt)}
          ${eventId ? html` · <a href=${eventUrl(eventId, m.eventSeq)}>event</a>` : null}
          <br /><span>${m.subject}</span>
          ${m.threading ? html`<br /><small class=${m.threading.startsWith('refused') ? 'threading refused' : 'threading muted'}>threading: ${m.threading}</small>` : null}
        </header>
        <pre class="wrap">${m.text}</pre>
        ${m.html ? html`<details><summary>HTML part (shown as source, never rendered)</summary><pre class="wrap">${m.html}</pre></details>` : null}
        ${m.attachments.length > 0
          ? html`<table class="compact attachments">
              <thead><tr><th>attachment</th><th>type</th><th class="num">size</th><th>saved</th><th>sha256 / reason</th></tr></thead>
              <tbody>
                ${m.attachments.map(
                  (a) => html`<tr>
                    <td>${sanitizeFilename(a.filename)}</td>
                    <td><code>${sanitizeContentType(a.contentType)}</code></td>
                    <td class="num">${bytes(a.size)}</td>
                    <td>${a.saved ? 'yes' : 'no'}</td>
                    <td><code>${a.sha256 ?? a.reason ?? ''}</code></td>
                  </tr>`,
                )}
              </tbody>
            </table>`
          : null}
      </article>`;
    })}
  </div>`;
}

export function Summaries({ rows }: { rows: Array<Record<string, unknown>> }): VNode {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((c) => c !== 'idempotency_key' && c !== 'row_id');
  const cell = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  return html`<div>
    <p class="muted">Rows of the <code>conversation_summaries</code> table, newest first (stored by the <code>llm-conversation-summary</code> recipe).</p>
    ${rows.length === 0
      ? html`<p class="muted">No summary stored yet.</p>`
      : html`<div class="scroll"><table class="summaries">
          <thead><tr>${columns.map((c) => html`<th>${c === 'stored_at' ? 'stored' : c}</th>`)}</tr></thead>
          <tbody>${rows.map((r) => html`<tr>${columns.map((c) => html`<td class=${c === 'summary' ? 'wide' : undefined}>${c === 'stored_at' && typeof r[c] === 'number' ? isoTime(r[c] as number) : cell(r[c])}</td>`)}</tr>`)}</tbody>
        </table></div>`}
  </div>`;
}
