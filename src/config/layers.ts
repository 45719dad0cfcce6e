import { isMap, isScalar, isSeq } from 'yaml';
import type { z } from 'zod';
import type { Diagnostic } from '../errors.ts';
import { interpolateEnv, parseYaml, schemaDiagnostics, type YamlFile } from './yaml.ts';

/**
 * Config files stacked on one another: the operator's file over the bundled config.example.yaml.
 * Each is interpolated on its own (so a key left out keeps the example's `${VAR}` binding), then
 * they are merged: mappings merge key by key, lists and scalars replace, and a mapping left empty
 * (`retry:` with nothing under it) keeps the defaults beneath it.
 */
export interface ConfigLayer {
  file: string;
  text: string;
}

export interface ParsedLayers {
  /** The merged, interpolated config, not yet validated. */
  raw: unknown;
  /** Diagnostics for schema issues, each at the file and position its value came from. */
  diagnose(issues: readonly z.core.$ZodIssue[]): Diagnostic[];
}

/** Parses and merges the layers, lowest first; or returns the YAML syntax errors of all of them. */
export function parseLayers(layers: readonly ConfigLayer[], env: NodeJS.ProcessEnv): ParsedLayers | Diagnostic[] {
  const files = layers.map((layer) => parseYaml(layer.file, layer.text));
  const errors = files.flatMap((f) => f.errors);
  if (errors.length > 0) return errors;
  for (const file of files) interpolateEnv(file, env);
  const raw = files.reduce<unknown>((merged, file) => overlay(merged, file.doc.toJS() ?? {}), undefined);
  const top = files.at(-1)!;
  return {
    raw,
    diagnose: (issues) =>
      issues.flatMap((issue) => {
        const path = [...issue.path, ...(issue.code === 'unrecognized_keys' ? [issue.keys[0] ?? ''] : [])];
        const from = files.findLast((f) => provides(f, path, raw)) ?? top;
        return schemaDiagnostics(from, [issue]).map((d) =>
          from === top ? d : { ...d, message: `${d.message} (a default from the bundled ${baseName(from.file)}: set ${issue.path.map(String).join('.')} in ${top.file}, or fix the environment variable it reads)` },
        );
      }),
  };
}

function overlay(base: unknown, top: unknown): unknown {
  if (isObject(base) && top === null) return base;
  if (!isObject(base) || !isObject(top)) return top;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(top)) merged[key] = key in base ? overlay(base[key], value) : value;
  return merged;
}

/** Whether this file set the value at `path` in `merged`: it has the whole path, or replaced an ancestor. */
function provides(yaml: YamlFile, path: readonly PropertyKey[], merged: unknown): boolean {
  let node: unknown = yaml.doc.contents;
  for (const [depth, key] of path.entries()) {
    if (isEmpty(node)) return valueAt(merged, path.slice(0, depth)) === null;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair) return false;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
      if (node === undefined) return false;
    } else {
      return true; // a scalar or a list where the path goes deeper: this file replaced the whole subtree
    }
  }
  // An empty value replaces a scalar but not a mapping (see overlay).
  return isEmpty(node) ? valueAt(merged, path) === null : true;
}

const isEmpty = (node: unknown) => node === null || (isScalar(node) && node.value === null);

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((v, key) => (typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[key] : undefined), value);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const baseName = (file: string) => file.split(/[\\/]/).at(-1) ?? file;
