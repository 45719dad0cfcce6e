import type { Config } from '../config/schema.ts';
import { Conversations } from '../domain/conversations.ts';
import type { DryRunDeps } from '../engine/dry-run.ts';
import { configSecrets, createRedactor } from '../observability/redact.ts';
import type { RecipeSet } from '../recipes/load.ts';
import { transcriptRules } from '../recipes/transcript-rules.ts';
import type { Store } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';

/**
 * What a dry run needs from a config and a store, for a CLI command (a server passes its own).
 * The transcript is only read; previews have every configured secret redacted.
 */
export function dryRunDeps(config: Config, store: Store, recipes: RecipeSet, clock: Clock): DryRunDeps {
  const env = Object.fromEntries(config.env.map((name) => [name, process.env[name] ?? '']));
  // Source secrets are not in any preview; resolving them could write the dev-secrets file.
  const redact = createRedactor(configSecrets(config, {}, env));
  return { recipes, config, env, conversations: new Conversations(transcriptRules(config, clock), store.records.conversations), clock, redact };
}
