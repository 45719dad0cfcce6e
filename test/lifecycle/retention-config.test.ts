import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/errors.ts';

const parse = (text: string) => parseConfig('hookline.yaml', text, {}, '/srv/hookline');
const DAY = 86_400_000;

function diagnostics(text: string): string[] {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`);
  }
  throw new Error('expected a ConfigError');
}

describe('retention config', () => {
  it('defaults: events 30d, attachments and transcripts 90d, tickets and summaries forever', () => {
    expect(parse('log: { level: info }\n').retention).toEqual({ events: 30 * DAY, attachments: 90 * DAY, transcripts: 90 * DAY, tickets: null, summaries: null });
  });

  it('takes durations and forever', () => {
    const r = parse('retention:\n  events: 2m\n  transcripts: forever\n  tickets: 365d\n  summaries: 12h\n').retention;
    expect(r).toEqual({ events: 120_000, attachments: 90 * DAY, transcripts: null, tickets: 365 * DAY, summaries: 12 * 3_600_000 });
  });

  it('refuses what is not a duration, too short a one, and unknown kinds, by key and line', () => {
    expect(diagnostics('retention:\n  events: soon\n')).toEqual(['hookline.yaml:2:11: retention.events: expected a duration such as 2m, 12h or 30d, or forever, got "soon"']);
    expect(diagnostics('retention:\n  attachments: 10s\n')).toEqual(['hookline.yaml:2:16: retention.attachments: expected a duration of at least 1m, or forever (got 10s)']);
    expect(diagnostics('retention:\n  events: 5000\n')).toEqual(['hookline.yaml:2:11: retention.events: expected a duration of at least 1m, or forever (got 5000 ms)']);
    expect(diagnostics('retention:\n  event: 30d\n')).toEqual(['hookline.yaml:2:3: retention: unknown key "event"']);
    expect(diagnostics('retention: 30d\n')).toEqual(['hookline.yaml:1:12: retention: Invalid input: expected object, received string']);
  });
});
