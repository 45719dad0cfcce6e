// Sends one PagerDuty event with @pagerduty/pdjs and prints the outcome as one JSON line.
// Run as a child process so that NODE_EXTRA_CA_CERTS (read only at start-up) can make it
// trust the emulator's test CA, exactly as a production process would be configured:
//
//   NODE_EXTRA_CA_CERTS=ca.pem node test/emulators/pagerduty-child.ts '<json>'
//
// <json> is {"server": "127.0.0.1:1234", "data": {...event...}, "retryTimeout"?: ms}.
import { event } from '@pagerduty/pdjs';
import type { EventPayloadV2 } from '@pagerduty/pdjs/build/src/events.js';

export interface ChildInput {
  server: string;
  data: EventPayloadV2;
  retryTimeout?: number;
}

export type ChildOutput =
  | { ok: true; status: number; data: unknown; retryAfter: string | null }
  | { ok: false; name: string; message: string; code: string | undefined };

async function main(): Promise<ChildOutput> {
  const input = JSON.parse(process.argv[2] ?? '{}') as ChildInput;
  try {
    const response = await event({
      server: input.server,
      data: input.data,
      // pdjs waits 20 s between its own 429 retries unless told otherwise.
      retryTimeout: input.retryTimeout ?? 20_000,
    });
    return { ok: true, status: response.status, data: response.data, retryAfter: response.headers.get('retry-after') };
  } catch (error) {
    const err = error as Error & { code?: string; cause?: { code?: string } };
    return { ok: false, name: err.name, message: err.message, code: err.code ?? err.cause?.code };
  }
}

const output = await main();
process.stdout.write(`${JSON.stringify(output)}\n`);
// pdjs leaves a 30 s no-op timer behind after a final 429; do not wait for it.
process.exit(0);
