import { html as bound } from 'htm/preact';
import type { VNode } from 'preact';
import { render } from 'preact-render-to-string';

/**
 * Server-side HTML: htm tagged templates rendered by preact-render-to-string. Every interpolated value
 * is a text node or an attribute value, escaped by the renderer; nothing in the console builds HTML by
 * concatenating strings, and nothing uses dangerouslySetInnerHTML. Event data is attacker-controlled.
 */
export const html: (strings: TemplateStringsArray, ...values: unknown[]) => VNode = bound;

export type { VNode };

export function renderPage(node: VNode): string {
  return `<!doctype html>${render(node)}`;
}

export function renderFragment(node: VNode): string {
  return render(node);
}

/** A console path with a query string; empty values are left out. */
export function consoleUrl(path: string, query: Record<string, string | number | undefined | null> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return `/console${path}${qs ? `?${qs}` : ''}`;
}

export const eventUrl = (id: string, seq?: number) => consoleUrl(`/events/${encodeURIComponent(id)}`, { seq });

/** Only http(s) URLs from event data become links (never javascript: or data:). */
export function safeHref(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

export function isoTime(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '' : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function ago(ms: number, now: number): string {
  const s = Math.round((now - ms) / 1000);
  if (s < 0) return `in ${duration(-s * 1000)}`;
  return s < 5 ? 'just now' : `${duration(s * 1000)} ago`;
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  const hours = Math.floor(m / 60);
  return hours < 48 ? `${hours} h ${m % 60} min` : `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** A time element: absolute ISO in the title, relative in the text. */
export function Time({ ms, now }: { ms: number | null | undefined; now: number }): VNode {
  if (ms === null || ms === undefined) return html`<span class="muted">—</span>`;
  return html`<time datetime=${new Date(ms).toISOString()} title=${isoTime(ms)}>${ago(ms, now)}</time>`;
}

const longString = 4_000;
const maxJson = 200_000;

/** Characters JSON.stringify leaves as they are but that would reorder or hide what is shown: C1 controls, bidi marks, overrides and isolates. */
const unshown = /[\u0080-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** JSON for display: long strings shortened (a payload viewer is not a download), invisible controls written as escapes. */
export function displayJson(value: unknown): string {
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => (typeof v === 'string' && v.length > longString ? `${v.slice(0, longString)}… (${v.length - longString} more characters)` : v),
    2,
  );
  return text === undefined ? 'null' : clipped(text.replace(unshown, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** Long text for display, cut (a viewer is not a download). */
export function clipped(text: string): string {
  return text.length > maxJson ? `${text.slice(0, maxJson)}\n… (${text.length - maxJson} more characters not shown)` : text;
}

export function Json({ value, label }: { value: unknown; label?: string }): VNode {
  return html`<pre class="json" aria-label=${label}>${displayJson(value)}</pre>`;
}

/** A status word with its colour class (done, dead, retrying...). */
export function Badge({ status, title }: { status: string; title?: string }): VNode {
  return html`<span class=${`badge b-${status.replace(/[^a-z_]/g, '')}`} title=${title}>${status}</span>`;
}

/** Notices passed in a redirect's query as a code, never as free text (nothing is reflected). */
export function Notice({ text, kind = 'ok' }: { text: string | undefined; kind?: 'ok' | 'error' }): VNode | null {
  return text ? html`<p class=${`notice ${kind}`} role="status">${text}</p>` : null;
}

/** A hidden CSRF field for every form that writes. */
export function Csrf({ token }: { token: string }): VNode {
  return html`<input type="hidden" name="_csrf" value=${token} />`;
}
