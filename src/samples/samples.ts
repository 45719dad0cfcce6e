import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Sample events of each source (the fixtures hookline was built from): `send`, `hookline test`, the console. */
const dir = fileURLToPath(new URL('./', import.meta.url));

/** The event a type name stands for when several samples share it. */
const preferred: Record<string, string> = { 'muro/message.created': 'message.created.test', 'meru/email.received': 'email.new-request' };

export function sampleNames(source: 'muro' | 'meru'): string[] {
  return readdirSync(`${dir}${source}`)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.replace(/\.json$/, ''))
    .sort();
}

/** The file of a sample by exact name, by the type it stands for, or by prefix. */
export function sampleFile(source: 'muro' | 'meru', name: string): string | undefined {
  const names = sampleNames(source);
  const chosen = preferred[`${source}/${name}`] ?? names.find((n) => n === name) ?? names.find((n) => n.startsWith(`${name}.`));
  const file = chosen && `${dir}${source}/${chosen}.json`;
  return file && existsSync(file) ? file : undefined;
}
