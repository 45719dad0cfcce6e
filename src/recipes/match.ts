/** An `on` or `wait_for.event` pattern: source/type, where * matches any run of characters. */
export interface EventMatcher {
  text: string;
  source: string;
  type: string;
  matches(source: string, type: string): boolean;
}

const glob = (pattern: string) => new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);

export function eventMatcher(text: string): EventMatcher {
  const slash = text.indexOf('/');
  const source = text.slice(0, slash);
  const type = text.slice(slash + 1);
  const sourceRe = glob(source);
  const typeRe = glob(type);
  return { text, source, type, matches: (s, t) => sourceRe.test(s) && typeRe.test(t) };
}
