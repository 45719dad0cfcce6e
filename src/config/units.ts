import ms from 'ms';
import bytes from 'bytes';
import { z } from 'zod';

/** A duration: a number of milliseconds, or a string such as 500ms, 30s, 5m, 2h, 1d. */
export const duration = z
  .union([z.number().nonnegative(), z.string()])
  .transform((value, ctx) => {
    const parsed = typeof value === 'number' ? value : parseDuration(value);
    if (parsed === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a duration such as 500ms, 30s, 5m, 2h or 1d, got "${value}"` });
      return z.NEVER;
    }
    return parsed;
  })
  .meta({ description: 'a duration: 500ms, 30s, 5m, 2h, 1d (a bare number is milliseconds)' });

/** A size: a number of bytes, or a string such as 512kb, 10mb, 1gb. */
export const size = z
  .union([z.number().int().positive(), z.string()])
  .transform((value, ctx) => {
    const parsed = typeof value === 'number' ? value : bytes.parse(value);
    if (parsed === null || !Number.isFinite(parsed) || parsed <= 0) {
      ctx.addIssue({ code: 'custom', message: `expected a size such as 512kb, 10mb or 1gb, got "${value}"` });
      return z.NEVER;
    }
    return parsed;
  })
  .meta({ description: 'a size: 512kb, 10mb, 1gb (a bare number is bytes)' });

const durationPattern = /^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)?\s*$/;

export function parseDuration(text: string): number | undefined {
  if (!durationPattern.test(text)) return undefined;
  const value = ms(text.trim() as ms.StringValue);
  return Number.isFinite(value) ? value : undefined;
}

export function formatDuration(milliseconds: number): string {
  return ms(milliseconds);
}
