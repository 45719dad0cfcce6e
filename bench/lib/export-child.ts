// One export in a process of its own, so that its peak RSS is the export's alone:
// node bench/lib/export-child.ts <store url> <kind> <format> <output file>  → prints { rows, ms, maxRssMb } as JSON.
import { exportToFile, parseKind, type ExportFormat } from '../../src/lifecycle/export.ts';
import { openStore } from '../../src/store/open.ts';

const [url, kind, format, output] = process.argv.slice(2) as [string, string, ExportFormat, string];
const store = await openStore({ url, synchronous: 'normal', pool_size: 2, statement_timeout: 30_000 } as never, { longRunning: false });
const started = performance.now();
const rows = await exportToFile(store, { kind: parseKind(kind), format }, output);
const ms = performance.now() - started;
await store.close();
console.log(JSON.stringify({ rows, ms, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
