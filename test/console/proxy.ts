import { readFileSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'yaml';

/**
 * A minimal reverse proxy that forwards the way nginx does with a given set of `proxy_set_header`
 * directives: like `proxy_pass http://hookline;` it sends `Host: <upstream name>` unless a directive
 * says otherwise, drops a header whose value is empty, and passes every other header on. With the
 * directives of the shipped docker-compose.yml it stands in for its load balancer (no Docker here).
 */
export interface Proxy {
  url: string;
  /** Where requests go; settable after start, so hookline can be told the proxy's URL first. */
  upstream: string;
  /** The headers hookline received on the last forwarded request. */
  lastForwarded: IncomingHttpHeaders | undefined;
  close(): Promise<void>;
}

export type Directives = ReadonlyArray<readonly [name: string, value: string]>;

/** The `proxy_set_header` directives of the nginx config shipped in docker-compose.yml. */
export function shippedNginxDirectives(): Directives {
  const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8')) as { configs: { nginx: { content: string } } };
  return [...compose.configs.nginx.content.matchAll(/^\s*proxy_set_header\s+(\S+)\s+("[^"]*"|[^;\s]+)\s*;/gm)].map(
    (m) => [m[1]!, m[2]!.replace(/^"(.*)"$/, '$1')] as const,
  );
}

export async function startProxy(directives: Directives, upstreamName = 'hookline'): Promise<Proxy> {
  let server: Server;
  const proxy: Proxy = {
    url: '',
    upstream: '',
    lastForwarded: undefined,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  server = createServer((req, res) => {
    const remote = req.socket.remoteAddress ?? '';
    const vars: Record<string, string> = {
      $http_host: req.headers.host ?? '',
      $host: (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase(),
      $scheme: 'http',
      $remote_addr: remote,
      $proxy_host: upstreamName,
      $proxy_add_x_forwarded_for: req.headers['x-forwarded-for'] ? `${String(req.headers['x-forwarded-for'])}, ${remote}` : remote,
    };
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = value;
    headers.host = upstreamName;
    headers.connection = 'close';
    for (const [name, template] of directives) {
      const value = template.replace(/\$[a-z_]+/g, (v) => vars[v] ?? '');
      if (value === '') delete headers[name.toLowerCase()];
      else headers[name.toLowerCase()] = value;
    }
    const target = new URL(req.url ?? '/', proxy.upstream);
    // node:http writes the Host header it is given, so hookline sees exactly what nginx would send.
    const out = request(target, { method: req.method, headers, setHost: false, agent: false }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => {
      res.writeHead(502).end('bad gateway');
    });
    proxy.lastForwarded = headers;
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
