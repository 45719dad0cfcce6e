import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config/schema.ts';
import { Conversations } from '../domain/conversations.ts';
import { truthy } from '../recipes/view.ts';
import { sampleFile } from '../samples/samples.ts';
import type { ConversationRecords, TranscriptMessage } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';
import { checkRenderedArgs, type CompiledRecipe } from '../recipes/compile.ts';
import { describeJsonataError, ExpressionError, type Bindings } from '../recipes/expressions.ts';
import type { RecipeSet } from '../recipes/load.ts';
import type { RecipeTestCase } from '../recipes/schema.ts';
import { transcriptRules } from '../recipes/transcript-rules.ts';

export interface TestResult {
  recipe: string;
  name: string;
  ok: boolean;
  failures: string[];
  /** What the run did, each { action: rendered arguments }. */
  actions: Array<Record<string, unknown>>;
}

/**
 * `hookline test`: each recipe's test cases, run offline. Steps follow the engine's rules (if,
 * templates, argument validation); actions are recorded instead of called, wait_for steps take the
 * outcome the test gives (default: timed out), action outputs come from the test or the action's fake.
 */
export async function runRecipeTests(set: RecipeSet, config: Config, only: string[] = []): Promise<TestResult[]> {
  const results: TestResult[] = [];
  for (const recipe of set.recipes.values()) {
    if (only.length > 0 && !only.includes(recipe.name)) continue;
    for (const test of recipe.tests) results.push(await runCase(recipe, test, config));
  }
  return results;
}

async function runCase(recipe: CompiledRecipe, test: RecipeTestCase, config: Config): Promise<TestResult> {
  const result: TestResult = { recipe: recipe.name, name: test.name, ok: false, failures: [], actions: [] };
  let event: { source: string; body: Record<string, unknown> };
  try {
    event = resolveEvent(recipe, test);
  } catch (error) {
    result.failures.push((error as Error).message);
    return result;
  }
  const body = test.patch ? (merge(event.body, test.patch) as Record<string, unknown>) : event.body;
  const type = event.source === 'meru' ? 'email.received' : String(body.type ?? 'unknown');
  const id = String(body.id ?? body.event_id ?? 'evt_test');
  const receivedAt = Date.parse(String(body.created_at ?? body.timestamp ?? '')) || Date.parse('2026-01-01T00:00:00Z');
  const clock: Clock = { now: () => receivedAt };
  const view = { ...body, source: event.source, id, type, received_at: new Date(receivedAt).toISOString(), test: (body.data as { test?: unknown })?.test === true };

  const conversations = new Conversations(transcriptRules(config.sources.muro.transcript, clock), storedTranscript(test.conversation ?? []));
  const { transcript } = await conversations.withEvent(view, 1, true);
  const bindings: Bindings = { trigger: view, steps: {}, vars: { ...config.vars, ...test.vars }, env: {}, conversation: transcript, clock };

  try {
    if (recipe.on.some((m) => m.matches(event.source, type)) && (!recipe.if || truthy(await recipe.if.evaluate(view, bindings)))) {
      for (const step of recipe.steps) {
        const steps = bindings.steps!;
        if (step.if && !truthy(await evaluate(() => step.if!.evaluate(view, bindings), recipe, step.id, `if "${step.if.source}"`))) {
          steps[step.id] = { skipped: 'if was false' };
          continue;
        }
        if (step.kind === 'wait') {
          steps[step.id] = test.steps?.[step.id] ?? { timed_out: true };
          continue;
        }
        const rendered = await evaluate(() => step.args.render(view, bindings), recipe, step.id, 'arguments');
        const checked = checkRenderedArgs(step, rendered);
        if (!checked.ok) throw new Error(checked.message);
        result.actions.push({ [step.action.name]: checked.args });
        steps[step.id] = test.steps?.[step.id] ?? step.action.fake(checked.args);
      }
    }
  } catch (error) {
    result.failures.push((error as Error).message);
    return result;
  }
  result.failures.push(...compare(test.expect, result.actions));
  result.ok = result.failures.length === 0;
  return result;
}

async function evaluate<T>(fn: () => Promise<T>, recipe: CompiledRecipe, step: string, what: string): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const detail = error instanceof ExpressionError ? error.message : describeJsonataError(error);
    throw new Error(`recipe ${recipe.name}, step ${step}: ${what}: ${detail}`);
  }
}

/** The event of a test: a sample name (muro/conversation.opened), a JSON file beside the recipe, or inline. */
function resolveEvent(recipe: CompiledRecipe, test: RecipeTestCase): { source: string; body: Record<string, unknown> } {
  if (typeof test.event === 'object') return { source: test.source ?? 'muro', body: structuredClone(test.event) };
  const file = resolve(dirname(recipe.file), test.event);
  if (test.event.endsWith('.json') && existsSync(file)) return { source: test.source ?? 'muro', body: JSON.parse(readFileSync(file, 'utf8')) };
  const [source, name] = test.event.split('/') as [string, string | undefined];
  const sample = name && (source === 'muro' || source === 'meru') ? sampleFile(source, name) : undefined;
  if (!sample) throw new Error(`event "${test.event}" is neither a sample (muro/<type>, meru/<name>) nor a JSON file next to the recipe`);
  return { source, body: JSON.parse(readFileSync(sample, 'utf8')) };
}

/** Expected actions, in order; each expected argument tree must be contained in what was sent. */
function compare(expected: Array<Record<string, unknown>>, actual: Array<Record<string, unknown>>): string[] {
  const failures: string[] = [];
  const name = (a: Record<string, unknown> | undefined) => (a ? Object.keys(a)[0] : 'nothing');
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    const want = expected[i];
    const got = actual[i];
    if (!want) {
      failures.push(`unexpected action #${i + 1}: ${JSON.stringify(got)}`);
      continue;
    }
    if (!got || name(want) !== name(got)) {
      failures.push(`action #${i + 1}: expected ${name(want)}, got ${got ? JSON.stringify(got) : 'nothing'}`);
      continue;
    }
    const mismatch = contains(got[name(got)!], want[name(want)!], name(want)!);
    if (mismatch) failures.push(`action #${i + 1}: ${mismatch}`);
  }
  return failures;
}

function contains(actual: unknown, expected: unknown, path: string): string | undefined {
  if (typeof expected === 'object' && expected !== null && !Array.isArray(expected)) {
    if (typeof actual !== 'object' || actual === null) return `${path}: expected an object, got ${JSON.stringify(actual)}`;
    for (const [k, v] of Object.entries(expected)) {
      const miss = contains((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
      if (miss) return miss;
    }
    return undefined;
  }
  return isDeepStrictEqual(actual, expected) ? undefined : `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}

function merge(a: unknown, b: unknown): unknown {
  if (typeof a !== 'object' || a === null || Array.isArray(a) || typeof b !== 'object' || b === null || Array.isArray(b)) return b;
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [k, v] of Object.entries(b)) out[k] = merge(out[k], v);
  return out;
}

/** The transcript a test starts from (that of the event's conversation), served like the store would. */
function storedTranscript(messages: Array<Record<string, unknown>>): ConversationRecords {
  return {
    transcript: async (id) =>
      messages.map((message, i): TranscriptMessage => ({ conversationId: id, messageId: String(message.id ?? `m${i}`), eventSeq: 0, position: i, message })),
  };
}
