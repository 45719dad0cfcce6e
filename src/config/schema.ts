import { z } from 'zod';
import { sourcesSchema } from '../sources/config.ts';
import { retentionSchema } from '../lifecycle/retention-config.ts';
import { flowKeys } from './flow.ts';
import { duration, size } from './units.ts';

/**
 * The configuration schema: validation, defaults (equal to config.example.yaml, checked by a test),
 * and the JSON Schema shipped for editors all come from this one definition.
 */

/** An optional string where empty (an unset ${VAR}) means "not configured". */
const optionalText = z
  .union([z.string(), z.null()])
  .optional()
  .transform((v) => (v === null || v === undefined || v === '' ? undefined : v));

/**
 * The external base URL behind a reverse proxy (https://hooks.example.com): the console's Origin check
 * accepts it and printed URLs use it. Empty: not set. hookline's pages link to /console/…, so it must
 * be served at the root of that URL.
 */
const publicUrl = optionalText
  .pipe(
    z
      .url({ protocol: /^https?$/, message: 'expected an http:// or https:// URL such as https://hooks.example.com' })
      .refine((url) => !URL.canParse(url) || /^[a-z]+:\/\/[^/?#]*\/?$/i.test(url), { message: 'expected the URL of the root (https://hooks.example.com), without a path: hookline must be served at /' })
      .transform((url) => new URL(url).origin)
      .optional(),
  )
  .meta({ description: 'external base URL when hookline is behind a reverse proxy (https://hooks.example.com); the console accepts this origin and printed URLs use it' });

const integer = (min: number, max: number) =>
  z.union([z.number(), z.string().regex(/^\d+$/, { message: 'expected a whole number' }).transform(Number)]).pipe(z.number().int().min(min).max(max));
const port = integer(0, 65535);

/** A connection's own keys, plus rate and circuit (flow control; Slack's webhooks take about 1/s). */
const connection = <T extends z.ZodRawShape>(shape: T, defaultRate = 'off') => z.object({ ...shape, ...flowKeys(defaultRate) }).strict();

export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().default('0.0.0.0'),
        port: port.default(3000),
        body_limit: size.default(25 * 1024 * 1024).meta({ description: 'largest request body accepted; bigger requests get 413' }),
        body_budget: size
          .default(100 * 1024 * 1024)
          .meta({ description: 'most bytes of request bodies read at once, across all requests; past it new requests get 503 with Retry-After' }),
        read_timeout: duration.default(30_000).meta({ description: 'a request body must arrive within this, or gets 408' }),
        headers_timeout: duration.default(10_000).meta({ description: 'a request head must arrive within this, or the connection is closed' }),
        keep_alive_timeout: duration
          .default(72_000)
          .meta({ description: 'an idle keep-alive connection is closed after this (keep it above a load balancer\'s idle timeout)' }),
        public_url: publicUrl,
      })
      .strict()
      .refine((s) => s.body_budget >= s.body_limit, {
        message: 'server.body_budget must be at least server.body_limit, or the largest bodies could never be read',
        path: ['body_budget'],
      })
      .prefault({}),
    store: z
      .object({
        url: z
          .string()
          .regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, { message: 'expected sqlite:<file> or postgres://user:pw@host:5432/db' })
          .default('sqlite:./data/hookline.db')
          .meta({ description: 'sqlite:<file> or postgres://user:pw@host:5432/db' }),
        synchronous: z
          .enum(['normal', 'full'])
          .default('normal')
          .meta({ description: 'SQLite: normal survives a process crash; full also survives a power loss (an fsync per commit)' }),
        pool_size: integer(1, 1000).default(10).meta({ description: 'PostgreSQL: connections per instance' }),
        statement_timeout: duration.default(5_000).meta({ description: 'PostgreSQL: longest a statement may run' }),
      })
      .strict()
      .prefault({}),
    // Without a sources: key, the two sources of the bundled config.example.yaml.
    sources: sourcesSchema.prefault({ muro: {}, meru: {} } as z.input<typeof sourcesSchema>),
    recipes: z.string().default('./recipes').meta({ description: 'folder of recipe files (*.yaml)' }),
    attachments: z.string().default('./data/attachments').meta({ description: 'folder where email attachments are saved' }),
    retention: retentionSchema.prefault({}),
    data_dir: z.string().default('./data').meta({ description: 'where generated development secrets are kept' }),
    connections: z
      .object({
        slack: connection({ webhook_url: optionalText }, '1/s').prefault({}),
        hubspot: connection({ access_token: optionalText, base_url: z.string().default('https://api.hubapi.com') }).prefault({}),
        pagerduty: connection({
          routing_key: optionalText,
          base_url: z.string().default('https://events.pagerduty.com'),
        }).prefault({}),
        openai: connection({
          api_key: optionalText,
          base_url: z.string().default('https://api.openai.com/v1'),
          model: z.string().default('gpt-4o-mini'),
        }).prefault({}),
      })
      .strict()
      .prefault({}),
    retry: z
      .object({
        schedule: z.array(duration).default([30_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000]),
        timeout: duration.default(10_000).meta({ description: 'per outbound request' }),
        jitter: z.number().min(0).max(1).default(0.2).meta({ description: 'each delay is randomised by up to ± this fraction' }),
      })
      .strict()
      .prefault({}),
    worker: z
      .object({
        concurrency: z.number().int().min(1).default(32).meta({ description: 'recipe runs executed at once' }),
        per_connection: z.number().int().min(1).default(16).meta({ description: 'at most this many at once to one connection' }),
        lease: duration.default(30_000).meta({ description: 'a run leased by an instance that stops heartbeating is taken over after this' }),
        poll: duration.default(1_000).meta({ description: 'how often idle workers look for due runs and timers' }),
        max_lag: duration.default(60_000).meta({ description: '/readyz answers 503 while the oldest event waiting for dispatch is older than this (0: never)' }),
      })
      .strict()
      .prefault({}),
    vars: z
      .record(z.string(), z.unknown())
      .default({
        muro_inbox_url: 'https://app.muro.chat/inbox',
        vip_emails: ['ceo@bigcustomer.example'],
        vip_first_response_timeout: '2m',
      })
      .meta({ description: 'values recipes read as $vars' }),
    env: z.array(z.string()).default([]).meta({ description: 'environment variables recipes may read as $env (allow-list)' }),
    admin: z.object({ token: optionalText }).strict().prefault({}),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type { SourceConfig } from '../sources/config.ts';
