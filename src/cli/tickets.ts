import { Option, type Command } from 'commander';
import { ticketId, ticketJson, ticketStatuses } from '../admin/operations.ts';
import { iso, table, withStore } from './context.ts';
import { limitOption } from './options.ts';

export function ticketsCommand(program: Command): void {
  program
    .command('tickets')
    .description('list tickets opened from inbound email, or show one (hookline tickets T-12)')
    .argument('[ticket]', 'a ticket number, T-12 or 12')
    .option('-q, --search <text>', 'subject or customer email contains')
    .addOption(new Option('--status <status>', 'only tickets in this status').choices(ticketStatuses))
    .addOption(limitOption())
    .option('--json', 'as JSON, as GET /admin/tickets (one per line) and /admin/tickets/:id answer')
    .action(async (which: string | undefined, o: { search?: string; status?: string; limit: number; json?: boolean }, command: Command) =>
      withStore(command, async (store) => {
        if (which) {
          const id = ticketId(which);
          const ticket = id === undefined ? undefined : await store.read.ticket(id);
          if (!ticket) {
            console.error(`no ticket ${which}`);
            process.exitCode = 1;
            return;
          }
          if (o.json) return console.log(JSON.stringify(ticketJson(ticket), null, 2));
          console.log(`T-${ticket.id}  ${ticket.status}  ${ticket.subject}\ncustomer: ${ticket.customer.name ? `${ticket.customer.name} <${ticket.customer.email}>` : ticket.customer.email}`);
          for (const m of ticket.messages) {
            console.log(`\n— ${iso(m.receivedAt)}  ${m.from}  ${m.subject}\n${m.text}`);
            for (const a of m.attachments) console.log(`  📎 ${a.filename} (${a.contentType}, ${a.size} bytes${a.saved ? `, sha256 ${a.sha256}` : `, not saved: ${a.reason}`})`);
          }
          return;
        }
        const tickets = await store.read.tickets({ search: o.search, status: o.status, limit: o.limit });
        if (o.json) return tickets.forEach((t) => console.log(JSON.stringify(ticketJson(t))));
        if (tickets.length === 0) return console.log('no tickets');
        console.log(table([['TICKET', 'STATUS', 'UPDATED', 'MESSAGES', 'CUSTOMER', 'SUBJECT'], ...tickets.map((t) => [`T-${t.id}`, t.status, iso(t.updatedAt), String(t.messageCount), t.customer.email, t.subject])]));
      }),
    );
}
