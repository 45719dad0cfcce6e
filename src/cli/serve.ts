import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { reloadSummary } from '../config/reload.ts';
import { watchConfig } from '../config/watch.ts';
import { formatDiagnostic } from '../errors.ts';
import { eventTypeWarnings } from '../recipes/event-types.ts';
import { eventSourcesOf, sourceNamed, sourcesOf } from '../sources/configured.ts';
import { sampleNames } from '../sources/test-delivery.ts';
import { devSecretRefusal, devSecretRisk, devSecretWarning, sourcesWithoutSecrets } from '../receive/dev-secrets.ts';

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('run the webhook receiver and the recipe worker')
    .option('-p, --port <port>', 'listen on this port (overrides server.port)', (v) => Number.parseInt(v, 10))
    .option('--no-worker', 'only receive: store events, run no recipes (another instance works)')
    .option('--no-receiver', 'only work: no webhook routes (health, metrics and admin stay)')
    .option('--no-watch-config', 'reload the config on SIGHUP only, not when its file changes')
    .option('--tunnel [domain]', 'open an ngrok tunnel (NGROK_AUTHTOKEN) and print the public webhook URLs; a reserved ngrok domain keeps them the same')
    .action(async (options: { port?: number; worker: boolean; receiver: boolean; watchConfig: boolean; tunnel?: boolean | string }, command: Command) => {
      const { config, file, isExample } = loadConfig({ file: command.optsWithGlobals().config });
      if (!options.worker && !options.receiver) throw new Error('--no-worker and --no-receiver together leave nothing to run');
      const risk = devSecretRisk(config, options.receiver ? sourcesWithoutSecrets(config) : []);
      if (risk?.production) throw new Error(`refusing to start with ${devSecretRefusal(risk)}`);
      // Loaded here, not at the top: other commands start faster without the server's modules.
      const [{ startHookline }, { redactUrl }, { startTracing, stopTracing }] = await Promise.all([
        import('../hookline.ts'),
        import('../observability/redact.ts'),
        import('../observability/tracing.ts'),
      ]);
      // Started by bin/hookline.js already (before the modules it traces load); this says how it went.
      const tracing = await startTracing();
      const hookline = await startHookline({
        config,
        worker: options.worker,
        receiver: options.receiver,
        ...(options.port === undefined ? {} : { port: options.port }),
      });
      const { logger } = hookline;
      logger.info({ config: file, example: isExample, store: redactUrl(config.store.url), worker: options.worker, receiver: options.receiver, needs_restart: reloadSummary.restart }, 'hookline started');

      // The warnings of `hookline check`, for operators who did not run it.
      for (const recipe of hookline.recipes().recipes.values()) {
        for (const d of eventTypeWarnings(recipe.file, readFileSync(recipe.file, 'utf8'), eventSourcesOf(config))) logger.warn({ file: d.file, line: d.line, col: d.col }, `recipe warning: ${formatDiagnostic(d)}`);
      }

      // Reload: the same file again (a file created since, e.g. a new ./hookline.yaml, needs a restart).
      // Listening for SIGHUP before the summary below tells anyone that they may send it.
      const watched = options.watchConfig && !isExample ? file : undefined;
      const configWatch = watchConfig({
        file: watched,
        load: () => loadConfig({ file }).config,
        apply: (next, trigger) => {
          const outcome = hookline.reloadConfig(next, trigger);
          if (outcome.risk) console.error(devSecretWarning(outcome.risk, next.server.host));
        },
        logger,
      });

      // Stop cleanly on a signal from the moment anyone may know we are up: a supervisor that reads the
      // summary below may signal at once, before a handler installed after it would exist.
      let tunnel: Promise<{ close(): Promise<void> } | undefined> = Promise.resolve(undefined);
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          logger.warn({ signal }, 'second signal: exiting now');
          process.exit(1);
        }
        stopping = true;
        logger.info({ signal }, 'shutting down: finishing in-flight requests');
        configWatch.close();
        hookline
          .close()
          // After the in-flight requests are answered (some came through the tunnel): close the tunnel
          // and export the spans still queued, each for at most a moment (a collector may be down).
          .then(() => Promise.all([atMost(2_000, tunnel.then((t) => t?.close())), atMost(2_000, stopTracing())]))
          .then(
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

      // A human summary on stderr; stdout stays pure JSON logs for collectors.
      const lines = [`hookline listening on ${hookline.url}  (config: ${isExample ? `${file} (bundled defaults)` : file})`];
      // Behind a reverse proxy, the addresses to give the providers and the browser are the public ones.
      const publicUrl = config.server.public_url ?? hookline.url;
      if (config.server.public_url) lines.push(`  public URL:      ${config.server.public_url}  (server.public_url)`);
      const receiving = options.receiver ? sourcesOf(config).filter((s) => s.config.enabled) : [];
      for (const { name, config: source } of receiving) lines.push(`  ${`${name} webhooks:`.padEnd(15)} POST ${publicUrl}${source.path}`);
      lines.push(`  health:          GET  ${hookline.url}/healthz   ${hookline.url}/readyz`);
      lines.push(`  metrics:         GET  ${hookline.url}/metrics`);
      lines.push(`  traces:          ${tracing.summary}`);
      if (config.admin.token) lines.push(`  console:         ${publicUrl}/console  (sign in with admin.token)`);
      if (!options.worker) lines.push('  worker: off (--no-worker): events are stored, recipes run elsewhere');
      if (!options.receiver) lines.push('  receiver: off (--no-receiver): this instance only runs recipes');
      if (!isExample) {
        lines.push(`  config reload:   kill -HUP ${process.pid}${watched ? `, or save ${watched}` : ''}: ${reloadSummary.live.join(', ')} apply at once`);
        lines.push(`                   needs a restart: ${reloadSummary.restart.join(', ')}`);
      }
      if (hookline.secrets.generated.length > 0) {
        lines.push(`  dev secrets for ${hookline.secrets.generated.join(', ')} (no secret configured): ${hookline.secrets.file}`);
        const first = sourceNamed(config, hookline.secrets.generated[0]!)!.scheme;
        lines.push(`  try:  npx hookline send ${hookline.secrets.generated[0]} ${first.eventTypes?.[0] ?? sampleNames(first)[0] ?? '<type>'}`);
      }
      console.error(lines.join('\n'));
      if (risk) {
        console.error(devSecretWarning(risk, config.server.host));
        logger.warn({ sources: risk.sources, reasons: risk.reasons }, 'sources run on a generated development secret where a deployment is configured: real deliveries get 401');
      }

      // The tunnel opens after the summary: hookline serves locally whatever becomes of it.
      if (options.tunnel) {
        const { openTunnel, tunnelSummary } = await import('./tunnel.ts');
        tunnel = openTunnel({ localUrl: hookline.url, domain: typeof options.tunnel === 'string' ? options.tunnel : undefined }).then((opened) => {
          if ('problem' in opened) {
            console.error(opened.problem);
            logger.warn({ problem: opened.problem }, 'no tunnel');
            return undefined;
          }
          console.error(tunnelSummary({ url: opened.url, localUrl: hookline.url, config, receiving: receiving.map((s) => s.name), generatedSecrets: hookline.secrets.generated }).join('\n'));
          logger.info({ url: opened.url }, 'tunnel open');
          return opened;
        });
      }

    });
}

/** Waits for `work` for at most `ms`, and never fails: for what shutdown may leave behind. */
function atMost(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([work.then(() => undefined, () => undefined), timeout]).finally(() => clearTimeout(timer));
}
