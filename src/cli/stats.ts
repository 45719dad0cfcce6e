import type { Command } from 'commander';
import bytes from 'bytes';
import { lifecycleStats, statsJson, type LifecycleStats } from '../lifecycle/stats.ts';
import { iso, table, withStore } from './context.ts';

export function statsCommand(program: Command): void {
  program
    .command('stats')
    .description('rows and bytes per kind, database and attachment sizes, the oldest kept event, the last prune')
    .option('--json', 'one JSON object, as GET /admin/stats answers')
    .action(async (o: { json?: boolean }, command: Command) =>
      withStore(command, async (store, loaded) => {
        const stats = await lifecycleStats(store, loaded.config.attachments, Date.now());
        if (o.json) return console.log(JSON.stringify(statsJson(stats)));
        console.log(formatStats(stats));
      }),
    );
}

const size = (n: number | null) => (n === null ? '-' : bytes.format(n, { unitSeparator: ' ' }) ?? String(n));

export function formatStats(s: LifecycleStats): string {
  const rows = [['KIND', 'ROWS', 'BYTES']];
  for (const [kind, k] of Object.entries(s.kinds)) rows.push([kind, String(k.rows), size(k.bytes)]);
  const d = s.database;
  const lines = [
    table(rows),
    '',
    `database (${s.backend}): ${size(d.bytes)}${d.freeBytes !== null ? `, ${size(d.freeBytes)} free (reused before the file grows)` : ''}${d.walBytes !== undefined ? `, WAL ${size(d.walBytes)}` : ''}${d.autoVacuum !== undefined ? `, auto_vacuum ${d.autoVacuum}` : ''}`,
    `attachments: ${s.attachments.files} files, ${size(s.attachments.bytes)} in ${s.attachments.dir}`,
    `oldest kept event: ${s.oldestEvent ? `${iso(s.oldestEvent.receivedAt)} (${Math.round(s.oldestEvent.ageSeconds / 3600)} h ago)` : 'none'}`,
  ];
  const last = s.lastPrune;
  if (!last) lines.push('last prune: never');
  else {
    const deleted = Object.entries(last.counts)
      .filter(([, n]) => n > 0)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(', ');
    lines.push(`last prune: ${iso(last.finishedAt)}, took ${last.tookMs} ms, deleted ${deleted || 'nothing'}`);
  }
  return lines.join('\n');
}
