import type { Logger } from '../observability/logger.ts';
import { recoveredEvent, rejectingEvent, type RejectingFacts } from '../sources/hookline/index.ts';
import type { Clock } from '../util/clock.ts';

/**
 * Watches each source's answers for the mark of a wrong secret (PRODUCT §9): deliveries that fail on
 * their signature alone — well-formed and fresh, but matching no secret — with none accepted, for
 * `sources.<name>.alert_after`. Then, once per episode, it appends `hookline/source.rejecting` to the
 * inbox (with the likely cause in words), and `hookline/source.recovered` when a delivery verifies
 * again. A missing or malformed signature header, a stale timestamp (scanners, clock skew) and a few
 * stray mismatches do not count: an episode needs `minRejections` mismatches spanning alert_after.
 * An episode is the run of mismatches since the last delivery that verified, forgotten after a quiet
 * day: a source with little traffic (a MERU inbox) is still told about a wrong secret after a few
 * lost emails, while strays days apart never add up.
 *
 * The state is this instance's, in memory. The event's id is derived from the source and the last
 * event stored from it (`anchor`), which does not move while nothing is accepted: every instance, and
 * a restart, that finds the same episode emits the same id, and the store keeps it once.
 */

/** Fewer signature mismatches than this are strays, however far apart. */
export const minRejections = 3;
/** A day without a mismatch ends an episode. */
export const quietMs = 86_400_000;

/** Answers given after the signature verified: the secret works. */
const verified = new Set([
  'accepted',
  'duplicate',
  'body_not_utf8',
  'body_not_json',
  'event_id_missing',
  'event_id_invalid',
  'event_type_invalid',
  'event_malformed',
  'store_unavailable',
]);

export interface RejectionWatchDeps {
  clock: Clock;
  logger: Logger;
  /** What the alert says of a source, read when it is raised (the config in force). */
  describe(source: string): Omit<RejectingFacts, 'since' | 'last' | 'rejections'> & { alertAfterMs: number };
  /** The seq of the last event stored from `source` (0 if none): an episode's identity. */
  anchor(source: string): Promise<number>;
  /** Appends one of hookline's own events to the inbox; the store keeps an id once. */
  emit(type: 'source.rejecting' | 'source.recovered', id: string, body: Record<string, unknown>): Promise<void>;
}

interface Episode {
  since: number;
  last: number;
  rejections: number;
  state: 'counting' | 'alerting' | 'alerted';
  anchor?: number;
}

/** A source that keeps rejecting, as the console and /metrics show it. */
export interface Rejecting {
  source: string;
  since: number;
  rejections: number;
  cause: string;
}

export class RejectionWatch {
  readonly #deps: RejectionWatchDeps;
  readonly #episodes = new Map<string, Episode>();
  #causes = new Map<string, string>();

  constructor(deps: RejectionWatchDeps) {
    this.#deps = deps;
  }

  /** Every answer a source's webhook route gives, by outcome (accepted, signature_mismatch, ...). */
  observe(source: string, outcome: string): void {
    if (outcome === 'signature_mismatch') this.#mismatch(source);
    else if (verified.has(outcome)) this.#verified(source);
  }

  /** The sources rejecting now (alerted, not recovered). */
  rejecting(): Rejecting[] {
    return [...this.#episodes]
      .filter(([, e]) => e.state === 'alerted')
      .map(([source, e]) => ({ source, since: e.since, rejections: e.rejections, cause: this.#causes.get(source) ?? '' }));
  }

  #mismatch(source: string): void {
    const now = this.#deps.clock.now();
    let episode = this.#episodes.get(source);
    if (episode?.state === 'counting' && now - episode.last > quietMs) episode = undefined;
    if (!episode) this.#episodes.set(source, (episode = { since: now, last: now, rejections: 0, state: 'counting' }));
    episode.rejections += 1;
    episode.last = now;
    if (episode.state !== 'counting' || episode.rejections < minRejections) return;
    if (now - episode.since < this.#deps.describe(source).alertAfterMs) return;
    episode.state = 'alerting';
    void this.#alert(source, episode);
  }

  async #alert(source: string, episode: Episode): Promise<void> {
    // What the alert says is what was seen when it was raised, whatever arrives while it is written.
    const { alertAfterMs: _, ...described } = this.#deps.describe(source);
    const facts = { ...described, since: episode.since, last: episode.last, rejections: episode.rejections };
    const at = this.#deps.clock.now();
    try {
      const anchor = await this.#deps.anchor(source);
      const event = rejectingEvent(facts, anchor, at);
      await this.#deps.emit('source.rejecting', event.id, event.body);
      episode.state = 'alerted';
      episode.anchor = anchor;
      this.#causes.set(source, String((event.body.data as { cause: string }).cause));
      this.#deps.logger.warn({ source, rejections: episode.rejections, since: new Date(episode.since).toISOString(), event: event.id }, `source ${source} keeps rejecting deliveries (signature mismatch): hookline/source.rejecting`);
      // A delivery verified while the alert was being written: the episode is over already.
      if (this.#episodes.get(source) !== episode) await this.#recovered(source, episode);
    } catch (error) {
      // Tried again at the next mismatch.
      episode.state = 'counting';
      this.#deps.logger.error({ source, err: error }, 'cannot record hookline/source.rejecting');
    }
  }

  #verified(source: string): void {
    const episode = this.#episodes.get(source);
    if (!episode) return;
    this.#episodes.delete(source);
    this.#causes.delete(source);
    if (episode.state === 'alerted') void this.#recovered(source, episode);
  }

  async #recovered(source: string, episode: Episode): Promise<void> {
    const facts = this.#deps.describe(source);
    const event = recoveredEvent({ ...facts, since: episode.since, rejections: episode.rejections }, episode.anchor ?? 0, this.#deps.clock.now());
    try {
      await this.#deps.emit('source.recovered', event.id, event.body);
      this.#deps.logger.info({ source, event: event.id }, `source ${source} accepts deliveries again: hookline/source.recovered`);
    } catch (error) {
      this.#deps.logger.error({ source, err: error }, 'cannot record hookline/source.recovered');
    }
  }
}
