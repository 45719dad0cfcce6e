import jsonata from 'jsonata';
import { z } from 'zod';

/** A JSONata expression in a source's options, compiled at validation so that a typo is reported where it is written. */
export function jsonataText(description: string) {
  return z
    .string()
    .min(1)
    .superRefine((text, ctx) => {
      try {
        jsonata(text);
      } catch (error) {
        const e = error as { message?: string; position?: number };
        ctx.addIssue({ code: 'custom', message: `invalid JSONata: ${e.message}${e.position === undefined ? '' : ` at character ${e.position}`}` });
      }
    })
    .meta({ description });
}
