/**
 * What an outbound call's span says of its URL: the destination (scheme, host, port), never the path
 * or the query. A Slack incoming webhook's secret is its path, a recipe's http step may put a token in
 * its path or query, and the span already names the recipe, step and action that made the call.
 * Semantic-convention keys, with the path and query shown as `REDACTED` (the conventions' word).
 */
export function outboundUrlAttributes(url: string): Record<string, string> {
  let origin: string;
  let query = '';
  try {
    const parsed = new URL(url);
    origin = parsed.origin;
    query = parsed.search;
  } catch {
    origin = 'unknown:';
  }
  return {
    'url.full': `${origin}/REDACTED${query ? '?REDACTED' : ''}`,
    'url.path': '/REDACTED',
    'url.query': query ? 'REDACTED' : '',
  };
}
