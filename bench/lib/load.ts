import autocannon from 'autocannon';

export interface Load {
  url: string;
  connections: number;
  durationSec: number;
  /** Requests per second across all connections; unset = as fast as possible. */
  rate?: number;
  /** Builds each request (unique, signed events). */
  request: () => { path: string; headers: Record<string, string>; body: string };
}

export interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

/** Keep-alive HTTP/1.1 load with autocannon; latencies in milliseconds. */
export async function measure(load: Load): Promise<Figures> {
  const result = await autocannon({
    url: load.url,
    connections: load.connections,
    duration: load.durationSec,
    ...(load.rate ? { overallRate: load.rate } : {}),
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => ({ ...req, ...load.request() }),
      },
    ],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * An open-loop load at a steady rate: request i is sent at start + i/rate whether or not earlier
 * ones were answered (autocannon's overallRate sends each second's share in a burst, which measures
 * the burst, not the server). Latencies in milliseconds.
 */
export async function paced(options: { url: string; rate: number; amount: number; request: Load['request'] }): Promise<Figures & { latencies: number[] }> {
  const { Agent, request } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const target = new URL(options.url);
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  const inFlight: Array<Promise<void>> = [];
  const start = performance.now();
  const send = () => {
    const r = options.request();
    const t = performance.now();
    inFlight.push(
      new Promise<void>((resolve) => {
        const req = request({ host: target.hostname, port: target.port, path: r.path, method: 'POST', headers: r.headers, agent }, (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - t);
            if (res.statusCode! < 200 || res.statusCode! >= 300) non2xx++;
            resolve();
          });
        });
        req.on('error', () => {
          errors++;
          resolve();
        });
        req.end(r.body);
      }),
    );
  };
  for (let i = 0; i < options.amount; i++) {
    const due = start + (i * 1000) / options.rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    send();
  }
  await Promise.all(inFlight);
  agent.destroy();
  const elapsed = (performance.now() - start) / 1000;
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
  return { rps: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), errors, non2xx, latencies };
}

/**
 * A closed-loop burst: `amount` requests over `connections` keep-alive connections, each sending
 * its next request when the previous one is answered. Resolves when the last is answered, with
 * the time that took (autocannon's `amount` ends on its one-second tick, too coarse for this).
 */
export async function burst(options: { url: string; connections: number; amount: number; request: Load['request'] }): Promise<{ ms: number; failed: number }> {
  const { Agent, request } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const target = new URL(options.url);
  let next = 0;
  let failed = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const r = options.request();
      const req = request({ host: target.hostname, port: target.port, path: r.path, method: 'POST', headers: r.headers, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode! < 200 || res.statusCode! >= 300) failed++;
          resolve();
        });
      });
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end(r.body);
    });
  const start = performance.now();
  await Promise.all(
    Array.from({ length: options.connections }, async () => {
      while (next++ < options.amount) await one();
    }),
  );
  const ms = performance.now() - start;
  agent.destroy();
  return { ms, failed };
}
