import { RE2JS } from 're2js';

/**
 * The regex engine of recipe expressions: RE2 (the pure-JS port re2js), which matches in time linear
 * in the input, so no pattern can make a crafted message stall the process (`/^(a+)+$/` against
 * "aaa…a!" takes seconds to years on a backtracking engine). The price: no backreferences (`\1`) and
 * no lookaround (`(?=…)`, `(?!…)`, `(?<=…)`, `(?<!…)`); such a pattern is refused when the recipe loads.
 *
 * JSONata hands its engine the RegExp it parsed (flags `i`, `m`, plus `g`) and then uses only
 * `lastIndex` and `exec`, the way it would use a global RegExp: set `lastIndex`, call `exec`, read
 * the match (its `index` and groups) and the `lastIndex` after it.
 */
export class Re2RegExp {
  lastIndex = 0;
  private readonly re: RE2JS;

  constructor(pattern: RegExp) {
    this.re = compileRe2(pattern);
  }

  exec(input: string): RegExpExecArray | null {
    const from = this.lastIndex;
    // The DFA answers "is there any match" several times faster than a search with groups: most
    // `$contains` calls end here. Only from 0: a search from inside the text sees the text before it.
    if (from === 0 && !this.re.test(input)) return this.miss();
    const m = this.re.matcher(input);
    if (from > input.length || !m.find(from)) return this.miss();
    const groups: Array<string | undefined> = [m.group(0)!];
    for (let i = 1; i <= m.groupCount(); i++) groups.push(m.group(i) ?? undefined);
    const result = Object.assign(groups, { index: m.start(), input }) as unknown as RegExpExecArray;
    this.lastIndex = m.end();
    return result;
  }

  private miss(): null {
    this.lastIndex = 0;
    return null;
  }
}

/**
 * JSONata makes a new engine each time it evaluates a regex literal (in a `$map`, once per item):
 * compiled patterns are kept, by flags and source. They come from recipe text, so there are few;
 * the cap only guards against a hot-reload loop.
 */
const compiled = new Map<string, RE2JS>();
const maxCompiled = 1000;

/** Compiles a JavaScript regex literal for RE2; throws a message naming what RE2 does not support. */
export function compileRe2(pattern: RegExp): RE2JS {
  const key = `${pattern.flags}/${pattern.source}`;
  let re = compiled.get(key);
  if (re) return re;
  try {
    re = RE2JS.compile(RE2JS.translateRegExp(pattern));
  } catch (error) {
    const reason = (error as Error).message.replace(/^error parsing regexp: /, '');
    throw new Error(`regex /${pattern.source}/ is not supported: ${reason} (expressions use RE2: no backreferences, no lookahead or lookbehind)`);
  }
  if (compiled.size >= maxCompiled) compiled.clear();
  compiled.set(key, re);
  return re;
}
