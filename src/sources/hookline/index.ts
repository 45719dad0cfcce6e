import { fileURLToPath } from 'node:url';
import { formatDuration } from '../../config/units.ts';
import { text } from '../headers.ts';
import { isoTime, loadSamples } from '../samples.ts';
import type { SampleEvent, TestDelivery } from '../types.ts';

/**
 * hookline's own events (PRODUCT §9): source `hookline`, never received over HTTP (no config entry
 * may take the name), appended to the inbox by hookline itself so that recipes subscribe to them like
 * to any source. Bodies look like a provider's: `{ id, type, created_at, data }`.
 *
 * - `run.dead`: a run went to dead letters (emitted by the queue, in the transaction that finishes the run).
 * - `source.rejecting`: a source's deliveries keep failing on their signature alone, none accepted,
 *   for `sources.<name>.alert_after` — the mark of a wrong secret. Once per episode.
 * - `source.recovered`: the first delivery of that source to verify again after `source.rejecting`.
 * - `schedule`: a tick of a recipe on a cron schedule (worker/scheduler.ts), once across instances;
 *   data.recipe names the recipe it starts, data.snapshot carries open tickets and recent dead runs.
 */

export const ownSource = 'hookline';

const eventTypes = ['run.dead', 'source.rejecting', 'source.recovered', 'schedule'] as const;
export type HooklineEventType = (typeof eventTypes)[number];

const samples = loadSamples(fileURLToPath(new URL('./samples/', import.meta.url)), (name, body) => text(body.type) ?? name);

export const hookline = {
  eventTypes,
  samples,
  identify: ({ body }: { body: Record<string, unknown> }) => ({ id: body.id, type: body.type }),
  /** A sample with a fresh id and time, as `hookline test` and the console use it. */
  testEvent: ({ type, body }: SampleEvent, { id, nowSec }: { id: string; nowSec: number }): TestDelivery => ({
    id,
    type,
    body: { ...body, id, type, created_at: isoTime(nowSec) },
  }),
};

/** The body of one of hookline's own events. */
export function ownEvent(type: HooklineEventType, id: string, nowMs: number, data: Record<string, unknown>): Record<string, unknown> {
  return { id, type, created_at: new Date(nowMs).toISOString(), data };
}

/** What hookline knows of a source that keeps rejecting deliveries, for the event and the console. */
export interface RejectingFacts {
  source: string;
  preset: string;
  /** The provider as people write it (MERU). */
  provider: string;
  path: string;
  /** First and latest signature mismatch of the episode, and how many (ms since the epoch). */
  since: number;
  last: number;
  rejections: number;
  alertAfter: string;
  /** The secrets tried, by name (`sources.meru.secrets[0]`), never by value. */
  secrets: string[];
  /** Set when the source runs on a generated development secret: the file that holds it. */
  devSecretsFile?: string | undefined;
  /** False for providers that sign no timestamp (the signatures were well-formed, not "fresh"). */
  timestamped: boolean;
  /** What a 401 costs with this provider (MERU: the mail is lost). */
  onRejected?: string | undefined;
}

/** The likely cause of a source's rejections, in words, and what to do about it. */
export function rejectionCause(f: RejectingFacts): { cause: string; fix: string } {
  const signed = f.timestamped ? 'a well-formed, fresh signature' : 'a well-formed signature';
  const tried = f.devSecretsFile
    ? `did not match the development secret hookline generated (${f.devSecretsFile}), as no secret is configured`
    : f.secrets.length === 1
      ? `did not match the secret hookline has (${f.secrets[0]})`
      : `matched none of the ${f.secrets.length} secrets hookline has (${f.secrets.join(', ')})`;
  const why = f.devSecretsFile
    ? `${f.provider} signs with its own secret, which hookline was never given`
    : `the secret is wrong, or was rotated on ${f.provider}'s side (or something between them changes the body, such as a proxy that re-encodes JSON)`;
  const lost = f.onRejected ? ` ${f.onRejected}.` : '';
  const cause = `For ${formatDuration(f.last - f.since)}, every delivery to ${f.source} carried ${signed} that ${tried}, and none was accepted (${f.rejections} rejected): ${why}.${lost}`;
  const fix = f.devSecretsFile
    ? `Set sources.${f.source}.secrets to the signing secret ${f.provider} shows, and restart hookline (or reload its config).`
    : `Copy the signing secret ${f.provider} shows into sources.${f.source}.secrets (during a rotation, keep the old one beside it) and reload the config.`;
  return { cause, fix };
}

/** `hookline/source.rejecting`: its id is the same for the whole episode (every instance, every restart), so the store keeps one. */
export function rejectingEvent(f: RejectingFacts, anchor: number, nowMs: number): { id: string; body: Record<string, unknown> } {
  const id = `source.rejecting:${f.source}:${anchor}`;
  const { cause, fix } = rejectionCause(f);
  return {
    id,
    body: ownEvent('source.rejecting', id, nowMs, {
      source: f.source,
      preset: f.preset,
      provider: f.provider,
      path: f.path,
      since: new Date(f.since).toISOString(),
      last_at: new Date(f.last).toISOString(),
      rejections: f.rejections,
      alert_after: f.alertAfter,
      secrets: f.devSecretsFile ? [`generated development secret (${f.devSecretsFile})`] : f.secrets,
      cause,
      fix,
    }),
  };
}

/** `hookline/source.recovered`: the first delivery that verifies after `source.rejecting`. */
export function recoveredEvent(f: Pick<RejectingFacts, 'source' | 'preset' | 'provider' | 'path' | 'since' | 'rejections'>, anchor: number, nowMs: number): { id: string; body: Record<string, unknown> } {
  const id = `source.recovered:${f.source}:${anchor}`;
  return {
    id,
    body: ownEvent('source.recovered', id, nowMs, {
      source: f.source,
      preset: f.preset,
      provider: f.provider,
      path: f.path,
      since: new Date(f.since).toISOString(),
      rejections: f.rejections,
    }),
  };
}
