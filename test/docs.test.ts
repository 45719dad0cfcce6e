import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { receiveErrors } from '../src/errors.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

it('the README lists every receive error code with its status', () => {
  for (const [code, { status }] of Object.entries(receiveErrors)) {
    expect(readme, code).toMatch(new RegExp(`\\| ${status} \\| \`${code}\` \\|`));
  }
});

it('the README documents every CLI command', async () => {
  const { buildProgram } = await import('../src/cli/main.ts');
  for (const command of buildProgram().commands.map((c) => c.name())) {
    expect(readme, command).toMatch(new RegExp(`\\| \`${command}[ \`]`));
  }
});
