type Headers = Record<string, string | string[] | undefined>;

/** Headers that carry a credential whatever the source: never stored or shown. */
const credentials = ['authorization', 'proxy-authorization', 'cookie'];

/** The headers kept with an event: all but the source's signature headers (MACs of its secret) and credentials. */
export function safeHeaders(headers: Headers, signatureHeaders: readonly string[]): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || credentials.includes(lower) || signatureHeaders.includes(lower)) continue;
    kept[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return kept;
}
