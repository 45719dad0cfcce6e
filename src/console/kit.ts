import type { FastifyReply, FastifyRequest } from 'fastify';
import { retryMessages } from '../admin/operations.ts';
import { queryInt, queryText } from '../admin/query.ts';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Rejecting } from '../receive/rejections.ts';
import type { RecipeSet } from '../recipes/load.ts';
import type { Store } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';
import type { VNode } from './html.ts';
import type { Section } from './layout.ts';
import type { Sampler } from './sampler.ts';

export interface ConsoleDeps {
  store: Store;
  clock: Clock;
  config: Config;
  metrics: Metrics;
  logger: Logger;
  /** The admin token; without one the console does not exist (every /console path answers 404). */
  token: string | undefined;
  recipes: () => RecipeSet;
  /** The worker has something to do (a replay, a retry). */
  wake: () => void;
  /** Secrets per source (configured, or the generated development ones): the test event is signed with the first. */
  secrets: Record<string, readonly string[]>;
  /** Sources whose webhook routes this instance serves. */
  receiving: string[];
  /** Sources that keep rejecting deliveries (a wrong secret): a banner on every page. */
  rejecting: () => Rejecting[];
  /** This instance's own base URL, known once it listens (the test event is posted there). */
  selfUrl: () => string;
  /** How often the overview sampler reads the metrics (default 10 s). */
  sampleEveryMs?: number;
}

/** What the route modules share: the dependencies and how to answer with a page or a fragment. */
export interface Kit {
  deps: ConsoleDeps;
  sampler: Sampler;
  /** The signed-in session's CSRF token. */
  csrf(request: FastifyRequest): string;
  page(reply: FastifyReply, request: FastifyRequest, title: string, section: Section | undefined, body: VNode, status?: number): FastifyReply;
  fragment(reply: FastifyReply, body: VNode): FastifyReply;
  notFound(reply: FastifyReply, request: FastifyRequest, what: string): FastifyReply;
  /** The event a run belongs to, as the pages link it. */
  eventRef(seq: number): Promise<EventRef | undefined>;
}

export interface EventRef {
  id: string;
  seq: number;
  type: string;
  source: string;
}

export type Query = Record<string, string | string[] | undefined>;
export type Form = Record<string, string | undefined>;

/** One query or form value: the first if repeated, without control characters, trimmed, bounded. */
export const str = (value: string | string[] | undefined, max = 300): string | undefined => queryText(value, max);

/** A whole number within the safe range, else undefined. */
export const intOf = (value: string | string[] | undefined): number | undefined => queryInt(value);

// A Map, not an object literal: `?notice=constructor` must find nothing, not Object.prototype's.
const notices = new Map<string, { text: (q: Query) => string; kind: 'ok' | 'error' }>([
  ['retried', { text: () => `Run ${retryMessages.retried}.`, kind: 'ok' }],
  ['not_dead', { text: () => `Not retried: ${retryMessages.not_dead}.`, kind: 'error' }],
  ['key_busy', { text: () => `Not retried: ${retryMessages.key_busy}.`, kind: 'error' }],
  ['not_found', { text: () => `Not retried: ${retryMessages.not_found}.`, kind: 'error' }],
  ['retried_all', { text: (q) => `${intOf(q.n) ?? 0} dead run${intOf(q.n) === 1 ? '' : 's'} queued again; finished steps will not run again.`, kind: 'ok' }],
  ['replayed', { text: () => 'Replaying: the event goes through the recipes again.', kind: 'ok' }],
  ['signed_out', { text: () => 'Signed out.', kind: 'ok' }],
  ['recipe_paused', { text: (q) => `${str(q.recipe, 200) ?? 'The recipe'} is paused: its new runs are created and held until you resume it.`, kind: 'ok' }],
  ['recipe_resumed', { text: (q) => `${str(q.recipe, 200) ?? 'The recipe'} is resumed: the runs it held run now, in their order.`, kind: 'ok' }],
  ['recipe_unchanged', { text: (q) => `${str(q.recipe, 200) ?? 'The recipe'} was already so; nothing changed.`, kind: 'ok' }],
  ['recipe_not_found', { text: () => 'No recipe of that name is loaded.', kind: 'error' }],
]);

/** Notices arrive in a redirect's query as a code (never as text to show), mapped to their message here. */
export function noticeOf(q: Query): { notice?: string; noticeKind?: 'ok' | 'error' } {
  const n = notices.get(str(q.notice, 40) ?? '');
  return n ? { notice: n.text(q), noticeKind: n.kind } : {};
}
