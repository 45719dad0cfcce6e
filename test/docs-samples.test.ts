import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { storeAttachments } from '../src/domain/attachments.ts';
import { hookline } from '../src/sources/hookline/index.ts';
import { createSource, findSample, presetNames } from '../src/sources/index.ts';
import type { SourceScheme } from '../src/sources/types.ts';
import { tempDir } from './helpers/env.ts';

// The README's tables of sample events and of MERU fields stay true to each preset's samples.

/** Every preset with samples (hmac has none: its events are the operator's), and hookline's own events. */
const withSamples: Array<[string, Pick<SourceScheme, 'samples'>]> = [
  ...presetNames.filter((name) => name !== 'hmac').map((name) => [name, createSource(name, { preset: name })] as [string, SourceScheme]),
  ['hookline', hookline],
];
const meru = createSource('meru', {});

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
/** The first-column `code` of every row of the table that follows `heading` in the README. */
function firstColumn(heading: string): string[] {
  const start = readme.indexOf(heading);
  expect(start, heading).toBeGreaterThan(-1);
  const table = readme.slice(start).split('\n\n').find((block) => block.startsWith('|'))!;
  return [...table.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!);
}

it('the README lists every sample `send` accepts, and each listed name is one', () => {
  const documented = firstColumn('**Sample events.**');
  const shipped = withSamples.flatMap(([source, scheme]) => Object.keys(scheme.samples()).map((name) => `${source}/${name}`));
  expect([...documented].sort()).toEqual(shipped.sort());
  for (const name of documented) {
    const slash = name.indexOf('/');
    const scheme = withSamples.find(([source]) => source === name.slice(0, slash))![1];
    expect(findSample(scheme, name.slice(slash + 1)), name).toBeDefined();
  }
});

it('every MERU field the README documents is in a sample, as a recipe sees it (after attachments are saved)', async () => {
  const temp = tempDir();
  try {
    const raw = Object.values(meru.samples()).map((sample) => structuredClone(sample.body));
    // Saved as configured by default, and once more with a 1-byte limit: `reason` is only on an attachment not saved.
    const events = await Promise.all(
      [10_000_000, 1].flatMap((perAttachment) => raw.map((event) => storeAttachments(structuredClone(event), { dir: temp.dir, perAttachment, perEmail: 25_000_000 }))),
    );
    const fields = firstColumn('### What a MERU email looks like to a recipe');
    expect(fields.length).toBeGreaterThan(30);
    for (const field of fields) {
      const found = events.some((event) => has(event, field.split('.')));
      expect(found, field).toBe(true);
    }
  } finally {
    temp.cleanup();
  }
});

/** Whether `path` (with `name[]` for "each element of the list") exists in `value`. */
function has(value: unknown, path: string[]): boolean {
  if (path.length === 0) return true;
  const [head, ...rest] = path as [string, ...string[]];
  if (typeof value !== 'object' || value === null) return false;
  if (head.endsWith('[]')) {
    const list = (value as Record<string, unknown>)[head.slice(0, -2)];
    return Array.isArray(list) && list.some((item) => has(item, rest));
  }
  return head in value && has((value as Record<string, unknown>)[head], rest);
}
