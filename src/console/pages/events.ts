import { Badge, consoleUrl, eventUrl, html, Time, type VNode } from '../html.ts';
import { outcomeHelp, outcomes, type EventQuery, type EventRow } from '../outcome.ts';

export interface EventsData {
  /** Every source the filter offers: the configured ones and hookline's own events. */
  sources: string[];
  query: EventQuery;
  rows: EventRow[];
  next: number | undefined;
  now: number;
}

function queryOf(q: EventQuery) {
  return { source: q.source, type: q.type, q: q.search, outcome: q.outcome };
}

export function EventRows({ data }: { data: EventsData }): VNode {
  const { rows, query, now } = data;
  // The first page follows new events live; older pages stay still.
  const live = query.before === undefined;
  return html`<tbody
    id="event-rows"
    hx-get=${live ? consoleUrl('/live/events', queryOf(query)) : undefined}
    hx-trigger=${live ? 'every 3s' : undefined}
    hx-swap=${live ? 'outerHTML' : undefined}
  >
    ${rows.length === 0 ? html`<tr><td colspan="6" class="muted">No events${query.source || query.type || query.search || query.outcome ? ' match these filters' : ' yet'}.</td></tr>` : null}
    ${rows.map(({ event: e, outcome, runs }) => {
      const current = runs.filter((r) => r.generation === e.generation);
      return html`<tr data-event=${e.eventId} data-outcome=${outcome}>
        <td><${Time} ms=${e.receivedAt} now=${now} /></td>
        <td>${e.source}</td>
        <td><code>${e.type}</code>${e.test ? html` <span class="tag">test</span>` : null}</td>
        <td><a href=${eventUrl(e.eventId, e.seq)}>${e.eventId}</a>${e.generation > 0 ? html` <span class="tag">replay ${e.generation}</span>` : null}</td>
        <td><${Badge} status=${outcome} title=${outcomeHelp[outcome]} /></td>
        <td class="runs">${current.map((r) => html`<span class="run-chip"><${Badge} status=${r.status} /> ${r.recipe}</span>`)}</td>
      </tr>`;
    })}
  </tbody>`;
}

export function Events({ data }: { data: EventsData }): VNode {
  const q = data.query;
  return html`<div>
    <form method="get" action="/console/events" class="filters" role="search">
      <label>Source
        <select name="source">
          <option value="">any</option>
          ${data.sources.map((s) => html`<option value=${s} selected=${q.source === s}>${s}</option>`)}
        </select>
      </label>
      <label>Type <input name="type" value=${q.type ?? ''} placeholder="conversation.*" size="18" /></label>
      <label>Outcome
        <select name="outcome">
          <option value="">any</option>
          ${outcomes.map((o) => html`<option value=${o} selected=${q.outcome === o} title=${outcomeHelp[o]}>${o}</option>`)}
        </select>
      </label>
      <label>Search <input name="q" type="search" value=${q.search ?? ''} placeholder="event id or email" size="26" /></label>
      <button type="submit">Filter</button>
      ${q.source || q.type || q.search || q.outcome ? html`<a href="/console/events">clear</a>` : null}
      <a class="button" href=${consoleUrl('/replay', { source: q.source, type: q.type })}>Replay by filter…</a>
    </form>
    <table class="events">
      <thead><tr><th>received</th><th>source</th><th>type</th><th>event id</th><th>outcome</th><th>runs</th></tr></thead>
      <${EventRows} data=${data} />
    </table>
    <p class="pager">
      ${q.before !== undefined ? html`<a href=${consoleUrl('/events', queryOf(q))}>← newest</a>` : html`<span class="muted small">Live: new events appear every 3 seconds.<noscript> (Without JavaScript, reload the page.)</noscript></span>`}
      ${data.next !== undefined ? html` <a href=${consoleUrl('/events', { ...queryOf(q), before: data.next })}>older →</a>` : null}
    </p>
  </div>`;
}
