import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { noStoredId } from '../admin/query.ts';
import { checkOrigin, clearedCookie, ConsoleAuth, cookieName, overHttps, readCookie, sessionCookie, type ConsoleSession } from './auth.ts';
import { consoleUrl, html, renderFragment, renderPage } from './html.ts';
import { noticeOf, str, type ConsoleDeps, type Form, type Kit, type Query } from './kit.ts';
import { Layout, type PageContext } from './layout.ts';
import { ErrorPage, SignIn } from './pages/signin.ts';
import { eventRoutes } from './routes/events.ts';
import { infoRoutes } from './routes/info.ts';
import { flowRoutes } from './routes/flow.ts';
import { sendRoutes } from './routes/send.ts';
import { bulkRoutes } from './routes/bulk.ts';
import { Sampler } from './sampler.ts';

export type { ConsoleDeps };

const require = createRequire(import.meta.url);
// A Map, not an object literal: /console/assets/constructor must find nothing.
const assets = new Map<string, { type: string; body: Buffer }>([
  ['htmx.min.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(require.resolve('htmx.org/dist/htmx.min.js')) }],
  ['console.css', { type: 'text/css; charset=utf-8', body: readFileSync(new URL('./assets/console.css', import.meta.url)) }],
  ['favicon.svg', { type: 'image/svg+xml', body: readFileSync(new URL('./assets/favicon.svg', import.meta.url)) }],
]);

/** No inline script or style, nothing from elsewhere: even markup that slipped through could not run. */
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Routes open without a session: the sign-in form and the static assets. */
const publicRoutes = new Set(['/console/login', '/console/assets/:name']);

/** Where to go after signing in: only a console path of this origin. */
function safeNext(value: string | undefined): string {
  return value !== undefined && /^\/console(?:[/?#]|$)/.test(value) && !value.includes('\\') ? value : '/console';
}

/**
 * The operator console of the issue: server-rendered pages under /console, htmx for live parts,
 * protected by the admin token. It reads and acts through the same store calls and operations as
 * the admin API and the CLI (src/admin/operations.ts), so the three agree.
 */
export async function consoleApp(app: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  if (!deps.token) return; // No token: nothing is registered and hookline's 404 answers, as for /admin.
  const { store, clock } = deps;
  const auth = new ConsoleAuth(() => deps.token ?? '', clock);
  const sampler = new Sampler({ store, metrics: deps.metrics, clock, logger: deps.logger, intervalMs: deps.sampleEveryMs });
  sampler.start();
  app.addHook('onClose', async () => sampler.stop());
  const sessions = new WeakMap<FastifyRequest, ConsoleSession>();

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 2 * 1024 * 1024 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  const publicOrigin = deps.config.server.public_url;
  const secure = (request: FastifyRequest) => overHttps(request, publicOrigin);
  const path = (request: FastifyRequest) => request.url.split('?')[0] ?? '';
  const loginUrl = (next?: string) => consoleUrl('/login', { next: next && next !== '/console' ? next : undefined });

  app.addHook('onRequest', async (request, reply) => {
    void reply.headers({
      'content-security-policy': contentSecurityPolicy,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'same-origin',
      'cache-control': 'no-store',
    });
    // Judged by the route that matched, not by the raw path (no prefix tricks).
    if (publicRoutes.has(request.routeOptions.url ?? '')) return;
    const p = path(request);
    const session = auth.verify(readCookie(request.headers.cookie, cookieName));
    if (session) {
      sessions.set(request, session);
      return;
    }
    if (request.headers['hx-request']) return reply.code(401).header('hx-redirect', loginUrl(p)).send('');
    if (request.method === 'GET' || request.method === 'HEAD') return reply.redirect(loginUrl(request.url), 303);
    return reply.code(401).type('text/html; charset=utf-8').send(renderPage(SignIn({ next: '/console', error: 'Your session has ended: sign in again.' })));
  });

  app.addHook('preValidation', async (request, reply) => {
    if (noStoredId(request.params)) return reply.code(404).type('text/html; charset=utf-8').send(renderPage(ErrorPage({ status: 404, message: 'There is no such page in the console.' })));
  });

  // Writes: from this origin only, and (once signed in) with the session's CSRF token.
  app.addHook('preHandler', async (request, reply) => {
    if (request.method === 'GET' || request.method === 'HEAD') return;
    const forbidden = (message: string) => reply.code(403).type('text/html; charset=utf-8').send(renderPage(ErrorPage({ status: 403, message })));
    const origin = checkOrigin(request, publicOrigin);
    if (!origin.ok) {
      // Most often a reverse proxy that rewrites Host: say what it must pass, here and in the log.
      const seen = origin.addressed.length > 0 ? origin.addressed.join(', ') : 'no Host';
      deps.logger.warn({ origin: origin.origin, addressed: origin.addressed, url: request.url }, 'console: refused a write from another origin; behind a reverse proxy, pass Host or X-Forwarded-Host, or set server.public_url');
      return forbidden(
        `This request did not come from the console’s own pages: its origin ${origin.origin} is not where this console is served (${seen}). ` +
          'If you opened the console through a reverse proxy, the proxy must pass the browser’s Host header (or X-Forwarded-Host), or set server.public_url to the address you open it at.',
      );
    }
    if (request.routeOptions.url === '/console/login') return;
    const session = sessions.get(request)!;
    const presented = request.headers['x-csrf-token'] ?? (request.body as Form | undefined)?._csrf;
    if (!auth.csrfMatches(session, presented)) return forbidden('The form has expired or did not come from this console. Reload the page and try again.');
  });

  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) deps.logger.error({ err: error, url: request.url }, 'console request failed');
    return reply.code(status).type('text/html; charset=utf-8').send(renderPage(ErrorPage({ status, message: status === 500 ? 'Something went wrong; the log has the details.' : error.message })));
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).type('text/html; charset=utf-8').send(renderPage(ErrorPage({ status: 404, message: 'There is no such page in the console.' }))));

  // ------------------------------------------------------------ shared by the routes

  const kit: Kit = {
    deps,
    sampler,
    csrf: (request) => sessions.get(request)!.csrf,
    page: (reply, request, title, section, body, status = 200) => {
      const ctx: PageContext = { csrf: sessions.get(request)!.csrf, now: clock.now(), counts: sampler.counts(), rejecting: deps.rejecting() };
      return reply.code(status).type('text/html; charset=utf-8').send(renderPage(html`<${Layout} ctx=${ctx} title=${title} section=${section}>${body}<//>`));
    },
    fragment: (reply, body) => reply.type('text/html; charset=utf-8').send(renderFragment(body)),
    notFound: (reply, request, what) => kit.page(reply, request, 'Not found', undefined, html`<p>${what}</p>`, 404),
    eventRef: async (seq) => {
      const e = await store.read.event(seq);
      return e && { id: e.eventId, seq: e.seq, type: e.type, source: e.source };
    },
  };

  // ------------------------------------------------------------ sign-in

  app.get('/assets/:name', async (request: FastifyRequest<{ Params: { name: string } }>, reply) => {
    const asset = assets.get(request.params.name);
    if (!asset) return reply.code(404).type('text/plain').send('no such asset');
    return reply.type(asset.type).header('cache-control', 'public, max-age=3600').send(asset.body);
  });

  app.get('/login', async (request: FastifyRequest<{ Querystring: Query }>, reply) => {
    const q = request.query;
    return reply.type('text/html; charset=utf-8').send(renderPage(SignIn({ next: safeNext(str(q.next, 2000)), notice: noticeOf(q).notice })));
  });

  app.post('/login', async (request, reply) => {
    const form = (request.body ?? {}) as Form;
    const next = safeNext(form.next);
    const answer = (status: number, error: string) => reply.code(status).type('text/html; charset=utf-8').send(renderPage(SignIn({ next, error })));
    if (!auth.mayTry(request.ip)) return answer(429, 'Too many wrong tokens from this address: wait a few minutes and try again.');
    const signedIn = auth.signIn(form.token);
    if (!signedIn) {
      auth.failed(request.ip);
      deps.logger.warn({ ip: request.ip }, 'console: sign-in with a wrong admin token');
      return answer(401, 'Wrong token.');
    }
    deps.logger.info({ ip: request.ip }, 'console: signed in');
    return reply.header('set-cookie', sessionCookie(signedIn.cookie, auth.ttlMs, secure(request))).redirect(next, 303);
  });

  app.post('/logout', async (request, reply) => {
    auth.signOut(sessions.get(request)!);
    return reply.header('set-cookie', clearedCookie(secure(request))).redirect(consoleUrl('/login', { notice: 'signed_out' }), 303);
  });

  await infoRoutes(app, kit);
  await eventRoutes(app, kit);
  await sendRoutes(app, kit);
  await flowRoutes(app, kit);
  await bulkRoutes(app, kit);
}
