import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config/schema.ts';
import { Conversations, type Transcript } from '../domain/conversations.ts';
import { createLogger } from '../observability/logger.ts';
import type { CompiledRecipe } from '../recipes/compile.ts';
import type { RecipeSet } from '../recipes/load.ts';
import type { RecipeTestCase } from '../recipes/schema.ts';
import { transcriptRules } from '../recipes/transcript-rules.ts';
import { evaluateTrigger } from '../recipes/trigger.ts';
import { eventView } from '../recipes/view.ts';
import { eventSourcesOf } from '../sources/configured.ts';
import { findSample } from '../sources/samples.ts';
import { bodyDelivery } from '../sources/test-delivery.ts';
import type { ClaimedRun, ConversationRecords, EventRecord, NewWait, RunQueue, StepRecord, TranscriptMessage } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';
import type { ActionCall, ActionInvoker } from './action-invoker.ts';
import { executeRun, type EngineDeps, type ExecutionResult } from './execute.ts';

export interface TestResult {
  recipe: string;
  name: string;
  ok: boolean;
  failures: string[];
  /** What the run did, each { action: rendered arguments }. */
  actions: Array<Record<string, unknown>>;
}

/**
 * `hookline test`: each recipe's test cases, run offline through the real engine — the recipe's
 * trigger (on, if, key) as dispatch evaluates it, then the step loop (if, templates, argument
 * validation, wait_for) — with fake actions: each call is recorded instead of made, and answers with
 * the test's output for that step or the action's fake. A wait_for takes the outcome the test gives
 * (default: timed out). Nothing is stored and nothing leaves the process.
 */
export async function runRecipeTests(set: RecipeSet, config: Config, only: string[] = []): Promise<TestResult[]> {
  const results: TestResult[] = [];
  for (const recipe of set.recipes.values()) {
    if (only.length > 0 && !only.includes(recipe.name)) continue;
    for (const test of recipe.tests) results.push(await runCase(set, recipe, test, config));
  }
  return results;
}

const logger = createLogger('silent');
const asIs = { text: (v: string) => v, value: <T>(v: T) => v };

async function runCase(set: RecipeSet, recipe: CompiledRecipe, test: RecipeTestCase, config: Config): Promise<TestResult> {
  const result: TestResult = { recipe: recipe.name, name: test.name, ok: false, failures: [], actions: [] };
  let resolved: TestEvent;
  try {
    resolved = await resolveEvent(recipe, test, config);
  } catch (error) {
    result.failures.push((error as Error).message);
    return result;
  }
  const { source, type } = resolved;
  const body = test.patch ? (merge(resolved.body, test.patch) as Record<string, unknown>) : resolved.body;
  const receivedAt = Date.parse(String(body.created_at ?? body.timestamp ?? '')) || Date.parse('2026-01-01T00:00:00Z');
  const event: EventRecord = {
    seq: 1,
    source,
    eventId: resolved.id,
    type,
    receivedAt,
    headers: {},
    body: JSON.stringify(body),
    test: (body.data as { test?: unknown } | undefined)?.test === true,
    status: 'dispatched',
    generation: 0,
    dispatchError: null,
  };
  const clock: Clock = { now: () => receivedAt };
  const view = eventView(event);
  const vars = { ...(config.vars as Record<string, unknown>), ...test.vars };
  const conversations = new Conversations(transcriptRules(config, clock), storedTranscript(test.conversation ?? []));
  const { transcript } = await conversations.withEvent(view, event.seq, true);

  try {
    if (recipe.on.some((m) => m.matches(source, type))) {
      const trigger = await evaluateTrigger(recipe, view, { trigger: view, steps: {}, vars, env: {}, conversation: transcript, clock });
      if (trigger.start && 'error' in trigger) throw new Error(trigger.error);
      if (trigger.start) {
        await simulateRun(set, recipe, event, {
          vars,
          clock,
          transcript,
          invoke: (call) => {
            result.actions.push({ [call.step.action.name]: call.args });
            return test.steps?.[call.step.id] ?? call.step.action.fake(call.args);
          },
          waitOutcome: (stepId) => test.steps?.[stepId] ?? { timed_out: true },
        });
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

/** What a simulated run needs besides its recipe and event: the actions' and the waits' answers. */
export interface Simulation {
  vars: unknown;
  env?: Record<string, string> | undefined;
  clock: Clock;
  transcript: Transcript | undefined;
  /** Answers an action call instead of making it: the step's output. */
  invoke(call: ActionCall): unknown;
  /** The outcome of a wait_for step. */
  waitOutcome(stepId: string): unknown;
}

/**
 * Executes one run with the real engine until it ends, in memory: nothing is stored, no action is
 * called (`invoke` answers for them). When the run parks on a wait_for, the wait resolves with
 * `waitOutcome` and the run is executed again from there, as the worker would once dispatch or the
 * timer resolved it. `hookline test` and `hookline replay --dry-run` both run recipes through it.
 */
export async function simulateRun(set: RecipeSet, recipe: CompiledRecipe, event: EventRecord, context: Simulation): Promise<StepRecord[]> {
  const steps = new Map<string, StepRecord>();
  let parked: NewWait | undefined;
  let ended: { error: string | null } = { error: null };
  const queue: EngineDeps['queue'] = {
    saveStep: async (_lease, { step }) => void steps.set(step.stepId, step),
    park: async (_lease, { wait, now }) => {
      parked = wait;
      steps.set(wait.stepId, { runId: 'test', stepId: wait.stepId, status: 'waiting', output: null, startedAt: now, finishedAt: null });
    },
    retryLater: async (_lease, { error }) => void (ended = { error }),
    release: async () => {},
    finish: async (_lease, { error, step }) => {
      if (step) steps.set(step.stepId, step);
      ended = { error: error ?? null };
    },
  } satisfies Pick<RunQueue, 'saveStep' | 'park' | 'retryLater' | 'release' | 'finish'>;
  const actions: ActionInvoker = {
    invoke: async (call) => ({ status: 'ok', output: context.invoke(call), durationMs: 0 }),
  };
  const deps: EngineDeps = {
    queue,
    // Nothing else was received: there is nothing to look back over.
    waits: { lookBack: async () => [] },
    withLock: (fn) => fn(),
    conversations: { current: async () => context.transcript },
    actions,
    recipes: () => set,
    vars: context.vars,
    env: context.env ?? {},
    clock: context.clock,
    logger,
    metrics: { run: () => {}, action: () => {} },
    // A fake action does not fail; should one, the run ends there rather than waiting for a retry.
    retry: { schedule: [], jitter: 0 },
    redact: asIs,
  };
  const run: ClaimedRun = {
    id: 'test',
    eventSeq: event.seq,
    recipe: recipe.name,
    recipeVersion: recipe.hash,
    key: null,
    generation: 0,
    status: 'running',
    lane: null,
    attempt: 0,
    availableAt: event.receivedAt,
    leaseOwner: 'hookline test',
    leaseUntil: null,
    createdAt: event.receivedAt,
    updatedAt: event.receivedAt,
    error: null,
    event,
    steps: [],
  };
  // Each execution finishes at least one step or ends the run: at most one per step.
  for (let n = 0; n <= recipe.steps.length; n++) {
    const outcome: ExecutionResult = await executeRun({ ...run, steps: [...steps.values()] }, 'hookline test', deps);
    if (outcome !== 'waiting' || !parked) {
      if (ended.error !== null) throw new Error(ended.error);
      return [...steps.values()];
    }
    const wait = parked;
    parked = undefined;
    steps.set(wait.stepId, { ...steps.get(wait.stepId)!, status: 'done', output: context.waitOutcome(wait.stepId), finishedAt: context.clock.now() });
  }
  return [...steps.values()];
}

interface TestEvent {
  source: string;
  id: string;
  type: string;
  body: Record<string, unknown>;
}

/**
 * The event of a test: a sample of a configured source or of hookline's own events
 * (muro/conversation.opened, hookline/run.dead), a JSON file beside the recipe, or inline; the source
 * of a file or inline event is `source:`, else that of the recipe's first `on`.
 */
async function resolveEvent(recipe: CompiledRecipe, test: RecipeTestCase, config: Config): Promise<TestEvent> {
  const sources = eventSourcesOf(config);
  const named = (name: string) => sources.find((s) => s.name === name);
  const own = async (body: Record<string, unknown>) => {
    const name = test.source ?? recipe.on.find((m) => !m.source.includes('*'))?.source;
    const source = name === undefined ? undefined : named(name);
    if (!source) throw new Error(`set source: to the source of the test's event (one of ${sources.map((s) => s.name).join(', ')})`);
    const delivery = await bodyDelivery(source.scheme, body, undefined, 'evt_test');
    return { source: source.name, id: delivery.id, type: delivery.type, body };
  };
  if (typeof test.event === 'object') return own(structuredClone(test.event));
  const file = resolve(dirname(recipe.file), test.event);
  if (test.event.endsWith('.json') && existsSync(file)) return own(JSON.parse(readFileSync(file, 'utf8')));
  const slash = test.event.indexOf('/');
  const source = slash > 0 ? named(test.event.slice(0, slash)) : undefined;
  const sample = source && findSample(source.scheme, test.event.slice(slash + 1));
  if (!source || !sample) throw new Error(`event "${test.event}" is neither a sample (<source>/<sample or type> of ${sources.map((s) => s.name).join(', ')}) nor a JSON file next to the recipe`);
  const { id } = await bodyDelivery(source.scheme, sample.body, sample.type, 'evt_test');
  return { source: source.name, id, type: sample.type, body: sample.body };
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
