import { InvalidArgumentError, Option } from 'commander';

/** `-n, --limit <n>`: a whole number from 1 to 1000, as the admin API allows. */
export function limitOption(fallback = 50): Option {
  return new Option('-n, --limit <n>', 'how many').default(fallback).argParser((value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > 1000) throw new InvalidArgumentError('expected a whole number from 1 to 1000.');
    return n;
  });
}
