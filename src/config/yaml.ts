import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import type { Diagnostic } from '../errors.ts';

/** A parsed YAML file that remembers where every node came from, for file:line:col diagnostics. */
export interface YamlFile {
  file: string;
  doc: Document;
  lines: LineCounter;
  errors: Diagnostic[];
}

export function parseYaml(file: string, text: string): YamlFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const errors = doc.errors.map((e) => {
    const pos = lines.linePos(e.pos[0]);
    return { file, line: pos.line, col: pos.col, message: `YAML syntax: ${e.message.split('\n')[0]}` };
  });
  return { file, doc, lines, errors };
}

/**
 * Position of the node at `path`, or of its nearest existing ancestor (a missing key points at its parent).
 * With `atKey`, the last step points at the key itself rather than its value (for "unknown key").
 */
export function positionOf(yaml: YamlFile, path: readonly PropertyKey[], atKey = false): { line: number; col: number } {
  let node: unknown = yaml.doc.contents;
  let best = rangeStart(node);
  for (const [i, key] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair) break;
      const last = atKey && i === path.length - 1;
      node = last ? pair.key : (pair.value ?? pair.key);
      best = rangeStart(node) ?? rangeStart(pair.key) ?? best;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
      best = rangeStart(node) ?? best;
    } else {
      break;
    }
  }
  return best === undefined ? { line: 1, col: 1 } : yaml.lines.linePos(best);
}

function rangeStart(node: unknown): number | undefined {
  return (node as Node | null | undefined)?.range?.[0];
}

/** Turns schema issues into diagnostics that name the file, line, column, key path and what was expected. */
export function schemaDiagnostics(yaml: YamlFile, issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): Diagnostic[] {
  return issues.map((outer) => {
    // A union (a value or a {{ template }}, a string or a list) fails as a whole; its first
    // alternative's problem is the one that explains what was expected.
    const inner = outer.code === 'invalid_union' ? outer.errors[0]?.[0] : undefined;
    const issue = inner ? { ...inner, path: [...outer.path, ...inner.path] } : outer;
    const path = [...prefix, ...issue.path];
    let at = path;
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      at = [...path, issue.keys[0] ?? ''];
      message = `unknown key ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    } else if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) {
      message = `missing required key (expected ${issue.expected})`;
    }
    const pos = positionOf(yaml, at, issue.code === 'unrecognized_keys');
    const where = path.length > 0 ? `${path.map(String).join('.')}: ` : '';
    return { file: yaml.file, line: pos.line, col: pos.col, message: `${where}${message}` };
  });
}

/**
 * Replaces ${VAR} and ${VAR:-default} in every scalar value (never in keys) with the environment's value;
 * an unset variable without default becomes the empty string, which means "not configured".
 * `$${` stays a literal `${`.
 */
export function interpolateEnv(yaml: YamlFile, env: NodeJS.ProcessEnv): void {
  visit(yaml.doc, {
    Pair(_, pair) {
      if (isScalar(pair.value) && typeof pair.value.value === 'string') {
        pair.value.value = substitute(pair.value.value, env);
      }
    },
    Seq(_, seq) {
      for (const item of seq.items) {
        if (isScalar(item) && typeof item.value === 'string') item.value = substitute(item.value, env);
      }
    },
  });
}

const variable = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function substitute(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(variable, (whole, escaped: string, name: string, fallback: string | undefined) => {
    if (escaped) return whole.slice(1);
    const value = env[name];
    return value === undefined || value === '' ? (fallback ?? '') : value;
  });
}
