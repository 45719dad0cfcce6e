// `npm run bench [-- section ...]`: prints figures measured in one run, with ratios against baselines.
import { cpus, totalmem } from 'node:os';
import { attackBench } from './attack.ts';
import { e2eBench } from './e2e.ts';
import { exportBench } from './export.ts';
import { flowBench } from './flow.ts';
import { adaptersBench, ingestBench, sourcesBench } from './ingest.ts';
import { scaleBench } from './scale.ts';
import { soakBench } from './soak.ts';
import { tracingBench } from './tracing.ts';

const sections: Record<string, (o: { durationSec: number; rounds: number; connections: number }) => Promise<void>> = {
  ingest: ingestBench,
  // Parts of ingest on their own: a Standard Webhooks source beside muro's; the express adapter beside fastify.
  'ingest-sources': sourcesBench,
  'ingest-adapters': adaptersBench,
  e2e: e2eBench,
  flow: flowBench,
  scale: scaleBench,
  attack: attackBench,
  tracing: tracingBench,
  export: exportBench,
  // Long (7 min per backend at the defaults): only when named, `npm run bench soak`.
  soak: soakBench,
};

const options = {
  durationSec: Number(process.env.BENCH_DURATION ?? 10),
  rounds: Number(process.env.BENCH_ROUNDS ?? 3),
  connections: Number(process.env.BENCH_CONNECTIONS ?? 50),
};
const chosen = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = chosen.length > 0 ? chosen : Object.keys(sections).filter((name) => !name.startsWith('ingest-') && name !== 'soak');

console.log(`# hookline benchmark — ${new Date().toISOString()}`);
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}`);
for (const name of names) {
  const section = sections[name];
  if (!section) throw new Error(`unknown section "${name}"; sections: ${Object.keys(sections).join(', ')}`);
  await section(options);
}
