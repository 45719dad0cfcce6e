import { createHash } from 'node:crypto';
import { basename, extname } from 'node:path';
import { z } from 'zod';
import type { ActionRegistry } from '../actions/registry.ts';
import type { ActionDefinition } from '../actions/types.ts';
import { positionOf, schemaDiagnostics, parseYaml, type YamlFile } from '../config/yaml.ts';
import type { Diagnostic } from '../errors.ts';
import { compileExpression, compileTemplate, compileValue, describeJsonataError, hasTemplate, type CompiledExpression, type CompiledTemplate, type CompiledValue } from './expressions.ts';
import { eventMatcher, type EventMatcher } from './match.ts';
import { compileSchedule, scheduleEventType, type RecipeSchedule } from './schedule.ts';
import { recipeSchema, runTemplatable, stepVariants, type RecipeTestCase } from './schema.ts';

export interface CompiledRecipe {
  name: string;
  description: string | undefined;
  file: string;
  enabled: boolean;
  on: EventMatcher[];
  if: CompiledExpression | undefined;
  key: CompiledExpression | undefined;
  steps: CompiledStep[];
  tests: RecipeTestCase[];
  /** Whether any expression mentions $conversation (the transcript is loaded only then). */
  usesConversation: boolean;
  /** `on: { schedule, timezone }`: started by its own hookline/schedule ticks (recipes/schedule.ts). */
  schedule?: RecipeSchedule | undefined;
  /** Changes whenever the file's text does. */
  hash: string;
  /** The file's text: kept (recipe_versions) when a run first starts with this version. */
  text: string;
}

interface StepCommon {
  id: string;
  if: CompiledExpression | undefined;
}

export interface WaitStep extends StepCommon {
  kind: 'wait';
  event: EventMatcher;
  match: CompiledExpression | undefined;
  /** Milliseconds, or a template that renders a duration. */
  timeout: number | CompiledTemplate;
}

export interface ActionStep extends StepCommon {
  kind: 'action';
  action: ActionDefinition;
  /** The destination it calls, known before its arguments are rendered (a connection, an HTTP host). */
  lane: string;
  args: CompiledValue;
  /** Validates the rendered arguments. */
  schema: z.ZodType;
}

export type CompiledStep = WaitStep | ActionStep;

/** The lane of the step at `index` (null past the end, or for a wait_for, which calls nothing). */
export function laneAt(recipe: CompiledRecipe, index: number): string | null {
  const step = recipe.steps[index];
  return step?.kind === 'action' ? step.lane : null;
}

/** The schemas a registry's recipes are checked with, built once per registry, not per file or step. */
const schemasOf = new WeakMap<ActionRegistry, { structure: z.ZodType; variants: ReturnType<typeof stepVariants> }>();
function schemas(actions: ActionRegistry) {
  let found = schemasOf.get(actions);
  if (!found) {
    const list = [...actions.values()];
    found = { structure: recipeSchema(list).extend({ steps: z.array(z.record(z.string(), z.unknown())).min(1) }), variants: stepVariants(list) };
    schemasOf.set(actions, found);
  }
  return found;
}

/** Checks an action step's rendered arguments against its schema; the error names each argument. */
export function checkRenderedArgs(step: ActionStep, args: unknown): { ok: true; args: unknown } | { ok: false; message: string } {
  const parsed = step.schema.safeParse(args);
  if (parsed.success) return { ok: true, args: parsed.data };
  const issues = parsed.error.issues.map((i) => `${[step.action.name, ...i.path].join('.')}: ${i.message}`).join('; ');
  return { ok: false, message: `step ${step.id}: rendered arguments are invalid: ${issues}` };
}

/**
 * Validates and compiles one recipe file. Every problem is reported (file:line:col and the fix);
 * a recipe with any problem is refused as a whole.
 */
export function compileRecipe(file: string, text: string, actions: ActionRegistry): { recipe?: CompiledRecipe; diagnostics: Diagnostic[] } {
  const yaml = parseYaml(file, text);
  if (yaml.errors.length > 0) return { diagnostics: yaml.errors };
  const raw = yaml.doc.toJS();
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { diagnostics: [{ file, line: 1, col: 1, message: 'expected a recipe: a mapping with name, on, steps' }] };
  }
  const parsed = schemas(actions).structure.safeParse(raw);
  if (!parsed.success) return { diagnostics: schemaDiagnostics(yaml, parsed.error.issues) };
  const recipe = parsed.data as z.output<ReturnType<typeof recipeSchema>> & { steps: Array<Record<string, unknown>> };
  const diagnostics: Diagnostic[] = [];
  const at = (path: PropertyKey[], message: string, atKey = false) =>
    diagnostics.push({ file, ...positionOf(yaml, path, atKey), message: `${path.map(String).join('.')}: ${message}` });
  const expr = (source: string | undefined, path: PropertyKey[]): CompiledExpression | undefined => {
    if (source === undefined) return undefined;
    try {
      return compileExpression(source);
    } catch (error) {
      at(path, `invalid JSONata: ${describeJsonataError(error)}`);
      return undefined;
    }
  };

  const steps: CompiledStep[] = [];
  const seen = new Set<string>();
  recipe.steps.forEach((step, i) => {
    if (typeof step.id === 'string') {
      if (seen.has(step.id)) at(['steps', i, 'id'], `step id "${step.id}" is used twice; ids must be unique in a recipe`);
      seen.add(step.id);
    }
    const compiled = compileStep(yaml, step, i, actions, at, expr, (found) => diagnostics.push(...found));
    if (compiled) steps.push(compiled);
  });
  let schedule: RecipeSchedule | undefined;
  let on: EventMatcher[];
  if (typeof recipe.on === 'object' && !Array.isArray(recipe.on)) {
    const compiled = compileSchedule(recipe.on.schedule, recipe.on.timezone);
    if ('error' in compiled) at(['on', compiled.field], compiled.error);
    else schedule = compiled.schedule;
    on = [eventMatcher(`hookline/${scheduleEventType}`)];
  } else {
    on = (Array.isArray(recipe.on) ? recipe.on : [recipe.on]).map(eventMatcher);
  }
  const result: CompiledRecipe = {
    name: recipe.name ?? basename(file, extname(file)),
    description: recipe.description,
    file,
    enabled: recipe.enabled,
    on,
    if: expr(recipe.if, ['if']),
    key: expr(recipe.key, ['key']),
    steps,
    tests: recipe.tests ?? [],
    usesConversation: text.includes('$conversation'),
    ...(schedule && { schedule }),
    hash: createHash('sha256').update(text).digest('hex').slice(0, 12),
    text,
  };
  return diagnostics.length > 0 ? { diagnostics } : { recipe: result, diagnostics };
}

function compileStep(
  yaml: YamlFile,
  step: Record<string, unknown>,
  i: number,
  actions: ActionRegistry,
  at: (path: PropertyKey[], message: string, atKey?: boolean) => void,
  expr: (source: string | undefined, path: PropertyKey[]) => CompiledExpression | undefined,
  report: (diagnostics: Diagnostic[]) => void,
): CompiledStep | undefined {
  const path = ['steps', i];
  const names = Object.keys(step).filter((k) => k !== 'id' && k !== 'if');
  const known = ['wait_for', ...actions.keys()];
  if (names.length === 0) return void at(path, `step has no action; expected one of ${known.join(', ')}`);
  if (names.length > 1) return void at([...path, names[1]!], `one action per step, found ${names.join(' and ')}`, true);
  const name = names[0]!;
  if (!known.includes(name)) return void at([...path, name], `unknown action "${name}"; expected one of ${known.join(', ')}`, true);

  const variant = schemas(actions).variants.find((v) => name in v.shape)!;
  const checked = variant.safeParse(step);
  if (!checked.success) return void report(schemaDiagnostics(yaml, checked.error.issues, path));
  const id = step.id as string;
  const condition = expr(step.if as string | undefined, [...path, 'if']);

  if (name === 'wait_for') {
    const args = (checked.data as Record<string, unknown>).wait_for as { event: string; match?: string; timeout: number | string };
    let timeout: number | CompiledTemplate = 0;
    if (typeof args.timeout === 'string') {
      try {
        timeout = compileTemplate(args.timeout);
      } catch (error) {
        at([...path, 'wait_for', 'timeout'], `invalid template: ${describeJsonataError(error)}`);
      }
    } else {
      timeout = args.timeout;
    }
    return { kind: 'wait', id, if: condition, event: eventMatcher(args.event), match: expr(args.match, [...path, 'wait_for', 'match']), timeout };
  }

  const action = actions.get(name)!;
  const args = compileValue(step[name], (p, error) => at([...path, name, ...p], `invalid template: ${describeJsonataError(error)}`));
  // Untemplated arguments are checked once more against the strict schema now, not first at run time.
  const schema = action.args(runTemplatable);
  if (!containsTemplate(step[name])) {
    const strict = schema.safeParse(step[name]);
    if (!strict.success) report(schemaDiagnostics(yaml, strict.error.issues, [...path, name]));
  }
  return { kind: 'action', id, if: condition, action, args, schema, lane: action.lane?.(step[name]) ?? action.connection ?? action.name };
}

function containsTemplate(value: unknown): boolean {
  if (typeof value === 'string') return hasTemplate(value);
  if (Array.isArray(value)) return value.some(containsTemplate);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(containsTemplate);
  return false;
}
