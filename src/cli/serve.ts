import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('run the webhook receiver and the recipe worker')
    .option('-p, --port <port>', 'listen on this port (overrides server.port)', (v) => Number.parseInt(v, 10))
    .option('--no-worker', 'only receive: store events, run no recipes (another instance works)')
    .option('--no-receiver', 'only work: no webhook routes (health, metrics and admin stay)')
    .action(async (options: { port?: number; worker: boolean; receiver: boolean }, command: Command) => {
      const { config, file, isExample } = loadConfig({ file: command.optsWithGlobals().config });
      if (!options.worker && !options.receiver) throw new Error('--no-worker and --no-receiver together leave nothing to run');
      // Loaded here, not at the top: other commands start faster without the server's modules.
      const [{ startHookline }, { redactUrl }] = await Promise.all([import('../hookline.ts'), import('../observability/redact.ts')]);
      const hookline = await startHookline({
        config,
        worker: options.worker,
        receiver: options.receiver,
        ...(options.port === undefined ? {} : { port: options.port }),
      });
      const { logger } = hookline;
      logger.info({ config: file, example: isExample, store: redactUrl(config.store.url), worker: options.worker, receiver: options.receiver }, 'hookline started');

      // A human summary on stderr; stdout stays pure JSON logs for collectors.
      const lines = [`hookline listening on ${hookline.url}  (config: ${isExample ? `${file} (bundled defaults)` : file})`];
      for (const name of ['muro', 'meru'] as const) {
        if (config.sources[name].enabled && options.receiver) lines.push(`  ${name} webhooks:  POST ${hookline.url}${config.sources[name].path}`);
      }
      lines.push(`  health:          GET  ${hookline.url}/healthz   ${hookline.url}/readyz`);
      lines.push(`  metrics:         GET  ${hookline.url}/metrics`);
      if (config.admin.token) lines.push(`  console:         ${hookline.url}/console  (sign in with admin.token)`);
      if (!options.worker) lines.push('  worker: off (--no-worker): events are stored, recipes run elsewhere');
      if (!options.receiver) lines.push('  receiver: off (--no-receiver): this instance only runs recipes');
      if (hookline.secrets.generated.length > 0) {
        lines.push(`  dev secrets for ${hookline.secrets.generated.join(', ')} (no secret configured): ${hookline.secrets.file}`);
        lines.push(`  try:  npx hookline send muro conversation.opened`);
      }
      console.error(lines.join('\n'));

      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          logger.warn({ signal }, 'second signal: exiting now');
          process.exit(1);
        }
        stopping = true;
        logger.info({ signal }, 'shutting down: finishing in-flight requests');
        hookline.close().then(
          () => {
            logger.info('stopped');
            process.exit(0);
          },
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}
