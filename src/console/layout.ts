import type { Rejecting } from '../receive/rejections.ts';
import type { RunStatus } from '../store/types.ts';
import { html, type VNode } from './html.ts';

/** What every signed-in page needs besides its own data. */
export interface PageContext {
  csrf: string;
  now: number;
  /** Run counts by status from the overview sampler (for the dead letters badge). */
  counts: Partial<Record<RunStatus, number>>;
  /** Sources whose deliveries keep failing on their signature: a banner while they do. */
  rejecting: Rejecting[];
}

/** A source that rejects every delivery loses them (MERU does not retry a 4xx): said on every page until it recovers. */
function RejectingBanner({ rejecting }: { rejecting: Rejecting[] }): VNode | null {
  if (rejecting.length === 0) return null;
  return html`<div class="banner error" role="alert" data-banner="rejecting">
    ${rejecting.map(
      (r) => html`<p><strong>${r.source} is rejecting deliveries</strong> (${r.rejections} signature mismatches since ${new Date(r.since).toISOString().replace('T', ' ').slice(0, 16)} UTC, none accepted). ${r.cause}</p>`,
    )}
  </div>`;
}

const nav = [
  ['overview', '/console', 'Overview'],
  ['events', '/console/events', 'Events'],
  ['dead', '/console/dead', 'Dead letters'],
  ['recipes', '/console/recipes', 'Recipes'],
  ['tickets', '/console/tickets', 'Tickets'],
  ['summaries', '/console/summaries', 'Summaries'],
  ['send', '/console/send', 'Send test event'],
] as const;

export type Section = (typeof nav)[number][0];

function Head({ title }: { title: string }): VNode {
  return html`<head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="referrer" content="same-origin" />
    <meta name="htmx-config" content=${JSON.stringify({ includeIndicatorStyles: false, allowEval: false, allowScriptTags: false, historyCacheSize: 0, selfRequestsOnly: true })} />
    <title>${title} · hookline</title>
    <link rel="stylesheet" href="/console/assets/console.css" />
    <link rel="icon" href="/console/assets/favicon.svg" type="image/svg+xml" />
    <script src="/console/assets/htmx.min.js" defer></script>
  </head>`;
}

export function Layout({ ctx, title, section, children }: { ctx: PageContext; title: string; section: Section | undefined; children?: unknown }): VNode {
  const dead = ctx.counts.dead ?? 0;
  return html`<html lang="en">
    <${Head} title=${title} />
    <body hx-headers=${JSON.stringify({ 'x-csrf-token': ctx.csrf })}>
      <header class="top">
        <a class="brand" href="/console">hookline</a>
        <nav aria-label="console">
          ${nav.map(
            ([key, href, label]) =>
              html`<a href=${href} class=${key === section ? 'active' : undefined} aria-current=${key === section ? 'page' : undefined}>${label}${key === 'dead' && dead > 0 ? html` <span class="count">${dead}</span>` : null}</a>`,
          )}
        </nav>
        <form method="post" action="/console/logout" class="signout">
          <input type="hidden" name="_csrf" value=${ctx.csrf} />
          <button type="submit" class="link">Sign out</button>
        </form>
      </header>
      <main>
        <${RejectingBanner} rejecting=${ctx.rejecting} />
        <h1>${title}</h1>
        ${children}
      </main>
    </body>
  </html>`;
}

/** Pages shown before signing in (and errors): no navigation, no CSRF token. */
export function BareLayout({ title, children }: { title: string; children?: unknown }): VNode {
  return html`<html lang="en">
    <${Head} title=${title} />
    <body class="bare">
      <main>
        <p class="brand">hookline</p>
        <h1>${title}</h1>
        ${children}
      </main>
    </body>
  </html>`;
}
