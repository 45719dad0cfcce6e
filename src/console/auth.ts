import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { tokenMatches } from '../admin/auth.ts';
import type { Clock } from '../util/clock.ts';

/**
 * Console sign-in. The operator presents the admin token once; the browser then holds a session
 * cookie that is not the token: `v1.<expiry>.<nonce>.<mac>`, the MAC an HMAC-SHA256 keyed by a key
 * derived from the admin token. So any instance that shares the token (scale-out) and a restarted
 * one accept it, and changing the token ends every session. Each session has a CSRF token, the HMAC
 * of its nonce, sent in every form and htmx request. Sign-out revokes the nonce in this instance's
 * memory (until the cookie would expire) and clears the cookie.
 */

export interface ConsoleSession {
  nonce: string;
  expiresAt: number;
  csrf: string;
}

export const cookieName = 'hookline_console';
const defaultTtlMs = 12 * 60 * 60 * 1000;

export interface SignInLimits {
  /** Failed sign-ins allowed per client address within `windowMs`. */
  failures: number;
  windowMs: number;
}

export class ConsoleAuth {
  readonly ttlMs: number;
  private readonly token: () => string;
  private derived: { token: string; key: Buffer } | undefined;
  private readonly clock: Clock;
  private readonly revoked = new Map<string, number>();
  private readonly failures = new Map<string, number[]>();
  private readonly limits: SignInLimits;

  /** `token` as a function: the token in force after a config reload (a new token ends every session). */
  constructor(token: string | (() => string), clock: Clock, options: { ttlMs?: number; limits?: SignInLimits } = {}) {
    this.token = typeof token === 'function' ? token : () => token;
    this.clock = clock;
    this.ttlMs = options.ttlMs ?? defaultTtlMs;
    this.limits = options.limits ?? { failures: 10, windowMs: 15 * 60 * 1000 };
  }

  private get key(): Buffer {
    const token = this.token();
    if (this.derived?.token !== token) this.derived = { token, key: createHmac('sha256', token).update('hookline console session v1').digest() };
    return this.derived.key;
  }

  /** A new session if `presented` is the admin token (constant-time), else undefined. */
  signIn(presented: string | undefined): { cookie: string; session: ConsoleSession } | undefined {
    const token = this.token();
    // Never an empty token: anyone could derive its session key.
    if (!token || !tokenMatches(presented, token)) return undefined;
    const expiresAt = this.clock.now() + this.ttlMs;
    const nonce = randomBytes(18).toString('base64url');
    const body = `v1.${expiresAt.toString(36)}.${nonce}`;
    return { cookie: `${body}.${this.mac(body)}`, session: this.session(nonce, expiresAt) };
  }

  /** The session a cookie value stands for, if it is genuine, unexpired and not signed out. */
  verify(cookie: string | undefined): ConsoleSession | undefined {
    if (!this.token()) return undefined;
    const m = /^(v1\.([0-9a-z]{1,12})\.([A-Za-z0-9_-]{24}))\.([A-Za-z0-9_-]{43})$/.exec(cookie ?? '');
    if (!m) return undefined;
    const [, body, exp, nonce, mac] = m as unknown as [string, string, string, string, string];
    if (!safeEqual(mac, this.mac(body))) return undefined;
    const expiresAt = Number.parseInt(exp, 36);
    if (!(expiresAt > this.clock.now()) || this.revoked.has(nonce)) return undefined;
    return this.session(nonce, expiresAt);
  }

  signOut(session: ConsoleSession): void {
    const now = this.clock.now();
    for (const [nonce, until] of this.revoked) if (until <= now) this.revoked.delete(nonce);
    this.revoked.set(session.nonce, session.expiresAt);
  }

  csrfMatches(session: ConsoleSession, presented: unknown): boolean {
    return typeof presented === 'string' && safeEqual(presented, session.csrf);
  }

  /** False while this client address has used up its failed sign-ins. */
  mayTry(client: string): boolean {
    return this.recentFailures(client).length < this.limits.failures;
  }

  failed(client: string): void {
    const list = this.recentFailures(client);
    list.push(this.clock.now());
    this.failures.set(client, list);
    if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value as string);
  }

  private recentFailures(client: string): number[] {
    const since = this.clock.now() - this.limits.windowMs;
    const list = (this.failures.get(client) ?? []).filter((t) => t > since);
    if (list.length === 0) this.failures.delete(client);
    return list;
  }

  private session(nonce: string, expiresAt: number): ConsoleSession {
    return { nonce, expiresAt, csrf: createHmac('sha256', this.key).update(`csrf.${nonce}`).digest('base64url') };
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** HttpOnly, SameSite=Strict, scoped to /console; Secure when the request came over HTTPS. */
export function sessionCookie(value: string, maxAgeMs: number, secure: boolean): string {
  return `${cookieName}=${value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(maxAgeMs / 1000)}${secure ? '; Secure' : ''}`;
}

export function clearedCookie(secure: boolean): string {
  return `${cookieName}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}

/** The first value of a header a proxy may have set (X-Forwarded-Host, X-Forwarded-Proto). */
function forwarded(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return (Array.isArray(value) ? value[0] : value)?.split(',')[0]?.trim().toLowerCase() || undefined;
}

/**
 * Whether the browser reached hookline over HTTPS: directly, through a proxy that says so, or at an
 * https `server.public_url` (`publicOrigin`) that the request's Origin names.
 */
export function overHttps(request: FastifyRequest, publicOrigin?: string): boolean {
  if (request.protocol === 'https' || forwarded(request, 'x-forwarded-proto') === 'https') return true;
  return publicOrigin?.startsWith('https:') === true && originOf(request.headers.origin) === publicOrigin;
}

/** `scheme://host[:port]` of an Origin header, lower-cased and without a default port; undefined when it is not one. */
function originOf(header: string | undefined): string | undefined {
  if (header === undefined || header === 'null') return undefined;
  try {
    return new URL(header).origin;
  } catch {
    return undefined;
  }
}

export type OriginVerdict = { ok: true } | { ok: false; origin: string; addressed: string[] };

/**
 * Writes must come from the console's own pages. A browser's Origin must be where the console is
 * served: `server.public_url` (`publicOrigin`, compared whole: scheme, host and port), or the host the
 * browser addressed, which is Host, or the first X-Forwarded-Host behind a proxy that rewrites Host.
 *
 * Honouring X-Forwarded-Host is safe because it can only name the host a browser addressed: a page on
 * another site cannot make a browser send that header (it is not CORS-safelisted, and hookline answers
 * no preflight), and passing this check grants nothing by itself — the session cookie and the CSRF
 * token do. A proxy that passes neither Host nor X-Forwarded-Host needs `server.public_url`.
 * Requests without Origin or Sec-Fetch-Site (curl) are judged by the CSRF token alone.
 */
export function checkOrigin(request: FastifyRequest, publicOrigin?: string): OriginVerdict {
  const header = request.headers.origin;
  const addressed = [request.headers.host?.toLowerCase(), forwarded(request, 'x-forwarded-host')].filter((h): h is string => !!h);
  if (header !== undefined) {
    const origin = originOf(header);
    if (origin !== undefined && (origin === publicOrigin || addressed.includes(new URL(origin).host))) return { ok: true };
    return { ok: false, origin: header, addressed: publicOrigin ? [publicOrigin, ...addressed] : addressed };
  }
  const site = request.headers['sec-fetch-site'];
  if (site === undefined || site === 'same-origin' || site === 'none') return { ok: true };
  return { ok: false, origin: `(Sec-Fetch-Site: ${String(site)})`, addressed };
}
