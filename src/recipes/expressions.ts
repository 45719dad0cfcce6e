import jsonata from 'jsonata';
import type { Clock } from '../util/clock.ts';
import { compileRe2, Re2RegExp } from './regex-engine.ts';
import { checkpoint, handOff } from './time-slices.ts';

/**
 * JSONata, the one expression language of recipes: `if`, `key`, `match` and `{{ ... }}` in strings.
 * Compiled once at load; evaluated with guard rails so that no expression can hang the worker or
 * hold up the process: regexes run on RE2 (linear time), evaluation gives the event loop a turn
 * every few milliseconds (time-slices.ts), and depth, sequence size and evaluation time are capped.
 * Event data is only ever data: rendered text is never evaluated again.
 */

/** Milliseconds of evaluation (time spent parked for other work does not count) before D1012. */
export const evaluationTimeoutMs = 1000;
const options = { stack: 500, sequence: 100_000, RegexEngine: Re2RegExp as unknown as RegExpConstructor };

/** A binding no expression can name (a space is not allowed in `$name`): the running evaluation's clock. */
const evaluationKey = 'hookline evaluation';
interface Evaluation {
  start: number;
  parked: number;
}

/**
 * Awaited by JSONata before every step: waits for this evaluation's turn when the process's time
 * slice is used up, and stops an evaluation that has run past its time.
 */
function beforeStep(_expr: unknown, _input: unknown, environment: jsonata.Environment): Promise<void> | undefined {
  const evaluation = environment.lookup(evaluationKey) as Evaluation;
  const wait = checkpoint();
  if (wait) {
    const parkedAt = performance.now();
    return wait.then(() => {
      evaluation.parked += performance.now() - parkedAt;
    });
  }
  if (performance.now() - evaluation.start - evaluation.parked > evaluationTimeoutMs) {
    // JSONata's own code for it: its message says "Evaluation timeout after 1000 milliseconds".
    throw { code: 'D1012', value: evaluationTimeoutMs, stack: new Error().stack };
  }
  return undefined;
}

export interface Bindings {
  /** The run's trigger event ($trigger). */
  trigger?: unknown;
  /** Outputs of finished steps ($steps.<id>). */
  steps?: Record<string, unknown>;
  vars?: unknown;
  /** Allow-listed environment variables. */
  env?: Record<string, string>;
  /** The conversation's transcript ({ id, messages }). */
  conversation?: unknown;
  clock: Clock;
}

/** A runtime failure of an expression; the message names recipe, step and expression. */
export class ExpressionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExpressionError';
  }
}

export interface CompiledExpression {
  source: string;
  evaluate(input: unknown, bindings: Bindings): Promise<unknown>;
}

const simplePath = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const reserved = new Set(['and', 'or', 'in', 'true', 'false', 'null', 'function']);

/**
 * A plain path such as `data.conversation.id` read directly, with JSONata's result, as long as no
 * list is met on the way (where JSONata would map over it); `fallback` signals "ask JSONata".
 */
function readPath(input: unknown, keys: string[]): unknown {
  let value = input;
  for (const key of keys) {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) return fallback;
    value = Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
  }
  return Array.isArray(value) ? fallback : value;
}
const fallback = Symbol('fallback');

/** Throws the JSONata syntax error (with `position`) when the text does not compile. */
export function compileExpression(source: string): CompiledExpression {
  const expression = jsonata(source, options);
  checkRegexes(expression.ast());
  expression.assign(Symbol.for('jsonata.__evaluate_entry') as unknown as string, beforeStep);
  const path = simplePath.test(source.trim()) && !source.split('.').some((k) => reserved.has(k)) ? source.trim().split('.') : undefined;
  return {
    source,
    evaluate: async (input, b) => {
      // The hot path of dispatch (transcripts, keys) is mostly plain paths: no need for the interpreter.
      if (path) {
        const value = readPath(input, path);
        if (value !== fallback) return plain(value);
      }
      const iso = () => new Date(b.clock.now()).toISOString();
      const evaluation: Evaluation = { start: performance.now(), parked: 0 };
      const result = await expression.evaluate(input, {
        [evaluationKey]: evaluation,
        trigger: b.trigger,
        steps: b.steps ?? {},
        vars: b.vars ?? {},
        env: b.env ?? {},
        conversation: b.conversation,
        // $now() and $millis() follow the injected clock, so recipes are testable without waiting.
        now: iso,
        millis: () => b.clock.now(),
        escapeHtml,
        slackEscape,
      }).finally(handOff);
      return plain(result);
    },
  };
}

/** Refuses at load a regex that RE2 cannot run (backreferences, lookaround), with its position. */
function checkRegexes(node: unknown, seen = new Set<object>()): void {
  if (typeof node !== 'object' || node === null || seen.has(node)) return;
  seen.add(node);
  const n = node as { type?: string; value?: unknown; position?: number };
  if (n.type === 'regex' && n.value instanceof RegExp) {
    try {
      compileRe2(n.value);
    } catch (error) {
      throw Object.assign(new Error((error as Error).message), { position: n.position });
    }
  }
  for (const child of Object.values(node)) {
    if (!(child instanceof RegExp)) checkRegexes(child, seen);
  }
}

/** $escapeHtml(text): for destinations that render HTML (HubSpot notes), visitor text stays text. */
function escapeHtml(text: unknown): string | undefined {
  if (text === undefined || text === null) return undefined;
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * $slackEscape(text): for Slack text (mrkdwn). Slack reads `<…>` as a link, a mention or a command
 * (`<!channel>`, `<https://x|label>`) and `&` as the start of an entity; escaped, visitor text shows
 * as typed. Everything else (`*bold*`, `_italic_`) is formatting, not control, and stays.
 */
function slackEscape(text: unknown): string | undefined {
  if (text === undefined || text === null) return undefined;
  return String(text).replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
}

/** JSONata sequences carry extra flags; results are stored and sent, so keep plain JSON values. */
function plain(value: unknown): unknown {
  if (value === undefined || value === null || typeof value !== 'object') return value;
  if (typeof (value as { then?: unknown }).then === 'function') return value;
  return JSON.parse(JSON.stringify(value));
}

export function describeJsonataError(error: unknown): string {
  const e = error as { message?: string; position?: number; token?: string };
  const where = e.position === undefined ? '' : ` at character ${e.position}`;
  return `${e.message ?? String(error)}${where}`;
}

// ---------------------------------------------------------------- templates

export interface CompiledTemplate {
  source: string;
  render(input: unknown, bindings: Bindings): Promise<unknown>;
}

const placeholder = /\{\{([\s\S]*?)\}\}/g;

export function hasTemplate(text: string): boolean {
  return text.includes('{{');
}

/**
 * A string with `{{ expr }}` parts. A string that is exactly one `{{ expr }}` renders to the raw value
 * (object, number, list); otherwise the parts are joined as text. A part that evaluates to nothing
 * is an error, so a missing field never reaches a destination as "undefined".
 */
export function compileTemplate(text: string): CompiledTemplate {
  const parts: Array<string | CompiledExpression> = [];
  let last = 0;
  for (const m of text.matchAll(placeholder)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    const inner = m[1]!.trim();
    if (inner === '') throw Object.assign(new Error('empty {{ }} in template'), { position: m.index });
    parts.push(compileExpression(inner));
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  const unclosed = text.slice(last).includes('{{');
  if (unclosed) throw Object.assign(new Error('"{{" without a closing "}}"'), { position: text.lastIndexOf('{{') });

  const whole = parts.length === 1 && typeof parts[0] !== 'string';
  return {
    source: text,
    render: async (input, bindings) => {
      const values = await Promise.all(
        parts.map(async (part) => {
          if (typeof part === 'string') return part;
          let value: unknown;
          try {
            value = await part.evaluate(input, bindings);
          } catch (error) {
            throw new ExpressionError(`{{ ${part.source} }} failed: ${describeJsonataError(error)}`);
          }
          if (value === undefined) {
            throw new ExpressionError(`{{ ${part.source} }} evaluated to nothing (is the field missing? a default: {{ x ? x : "none" }})`);
          }
          return value;
        }),
      );
      if (whole) return values[0];
      return values.map((v) => (typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v))).join('');
    },
  };
}

// ---------------------------------------------------------------- argument trees

export interface CompiledValue {
  render(input: unknown, bindings: Bindings): Promise<unknown>;
}

/**
 * Compiles every template inside an action's arguments (strings at any depth of objects and lists).
 * `onError(path, error)` receives each template that does not compile.
 */
export function compileValue(value: unknown, onError: (path: PropertyKey[], error: unknown) => void, path: PropertyKey[] = []): CompiledValue {
  if (typeof value === 'string' && hasTemplate(value)) {
    try {
      const template = compileTemplate(value);
      return { render: (input, b) => template.render(input, b) };
    } catch (error) {
      onError(path, error);
      return { render: async () => value };
    }
  }
  if (Array.isArray(value)) {
    const items = value.map((v, i) => compileValue(v, onError, [...path, i]));
    return { render: async (input, b) => Promise.all(items.map((i) => i.render(input, b))) };
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(([k, v]) => [k, compileValue(v, onError, [...path, k])] as const);
    return {
      render: async (input, b) => Object.fromEntries(await Promise.all(entries.map(async ([k, v]) => [k, await v.render(input, b)] as const))),
    };
  }
  return { render: async () => value };
}
