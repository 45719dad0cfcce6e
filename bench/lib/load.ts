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
