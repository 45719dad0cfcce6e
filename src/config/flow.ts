import { z } from 'zod';
import { duration } from './units.ts';

/**
 * The flow control of a connection (PRODUCT §11): `rate` (at most N calls per period, across
 * instances) and `circuit` (after N consecutive failed attempts its steps wait for a probe).
 */

const ratePattern = /^\s*(\d+)\s*\/\s*(\d+(?:\.\d+)?)?\s*(ms|s|m|h)\s*$/;
const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** `1/s`, `100/10s`, `30/m`: `{ count, periodMs }`; off, none, false or null: undefined (no limit). */
export function parseRate(text: string): { count: number; periodMs: number } | undefined | 'invalid' {
  if (/^\s*(off|none)\s*$/i.test(text)) return undefined;
  const m = ratePattern.exec(text);
  if (!m) return 'invalid';
  const count = Number(m[1]);
  const periodMs = Number(m[2] ?? 1) * unitMs[m[3] as keyof typeof unitMs];
  if (count < 1 || count > 10_000 || periodMs < 10 || periodMs > 86_400_000) return 'invalid';
  return { count, periodMs };
}

export const rate = (fallback: string) =>
  z
    .union([z.string(), z.literal(false), z.null()])
    .prefault(fallback)
    .transform((value, ctx) => {
      if (value === false || value === null) return undefined;
      const parsed = parseRate(value);
      if (parsed === 'invalid') {
        ctx.addIssue({ code: 'custom', message: `expected a rate such as 1/s, 100/10s or 30/m (at most 10000 per period of 10ms to 24h), or off; got "${value}"` });
        return z.NEVER;
      }
      return parsed;
    })
    .meta({ description: 'at most this many calls to the connection per period, across instances (1/s, 100/10s, 30/m); excess steps wait in the queue. off: no limit' });

export const circuit = z
  .union([
    z
      .object({
        after: z.number().int().min(1).max(1000).default(5).meta({ description: 'consecutive failed attempts (network errors, timeouts, 5xx) that open the circuit' }),
        cool_down: duration.default(30_000).meta({ description: 'how long the circuit stays open before a single probe goes' }),
      })
      .strict(),
    z.literal('off'),
    z.literal(false),
  ])
  .prefault({})
  .transform((value) => (value === 'off' || value === false ? undefined : { after: value.after, coolDownMs: value.cool_down }))
  .meta({ description: 'circuit breaker: after `after` consecutive failed attempts, steps to the connection wait (spending no attempt) until one probe after `cool_down` succeeds. off: none' });

/** The flow keys every connection takes. */
export const flowKeys = (defaultRate: string) => ({ rate: rate(defaultRate), circuit });
