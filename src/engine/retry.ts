import { LeaseLostError, NonRetryableError, RetryableError } from '../errors.ts';

export interface RetryPolicy {
  /** Delay before each retry; its length is how many retries there are. */
  schedule: readonly number[];
  /** Each delay is randomised by up to ± this fraction. */
  jitter: number;
}

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: 'non-retryable' | 'exhausted' };

/** Longest we honour a server's Retry-After. */
const maxRetryAfter = 24 * 3600_000;

/**
 * After failed attempt number `attempt` (1-based): retry network errors, timeouts, 5xx and 429
 * (after Retry-After when the server sent one), not other 4xx; give up when the schedule is used up.
 * Errors of unknown kind are treated as transient.
 */
export function decideRetry(error: unknown, attempt: number, policy: RetryPolicy, random = Math.random): RetryDecision {
  if (error instanceof NonRetryableError || error instanceof LeaseLostError) return { retry: false, reason: 'non-retryable' };
  if (attempt > policy.schedule.length) return { retry: false, reason: 'exhausted' };
  if (error instanceof RetryableError && error.retryAfterMs !== undefined) {
    return { retry: true, delayMs: Math.min(error.retryAfterMs, maxRetryAfter) };
  }
  const base = policy.schedule[attempt - 1]!;
  const spread = base * policy.jitter * (2 * random() - 1);
  return { retry: true, delayMs: Math.max(0, Math.round(base + spread)) };
}

export function statusOf(error: unknown): number | undefined {
  return error instanceof RetryableError || error instanceof NonRetryableError ? error.status : undefined;
}
