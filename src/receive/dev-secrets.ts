import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config, SourceName } from '../config/schema.ts';
import { sourceNames } from '../config/schema.ts';

export interface SourceSecrets {
  secrets: Record<SourceName, string[]>;
  /** Sources that run on a generated development secret, and the file that holds it. */
  generated: SourceName[];
  file: string;
}

/**
 * A source without configured secrets never accepts unsigned events: it gets a random development
 * secret, kept in <data_dir>/dev-secrets.json (mode 0600) so that `hookline send` can sign with it.
 */
export function resolveSecrets(config: Config): SourceSecrets {
  const file = join(config.data_dir, 'dev-secrets.json');
  const missing = sourceNames.filter((name) => config.sources[name].secrets.length === 0);
  const secrets = Object.fromEntries(sourceNames.map((name) => [name, config.sources[name].secrets])) as Record<SourceName, string[]>;
  if (missing.length === 0) return { secrets, generated: [], file };

  const stored: Partial<Record<SourceName, string>> = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  let changed = false;
  for (const name of missing) {
    if (!stored[name]) {
      stored[name] = name === 'meru' ? `whsec_${randomBytes(24).toString('hex')}` : randomBytes(24).toString('hex');
      changed = true;
    }
    secrets[name] = [stored[name]!];
  }
  if (changed) {
    mkdirSync(config.data_dir, { recursive: true });
    writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  }
  return { secrets, generated: missing, file };
}
