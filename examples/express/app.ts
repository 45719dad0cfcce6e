// hookline inside an existing express 5 application: the webhook paths of every configured source
// under /hooks, next to the application's own routes and body parsers, and hookline's worker running
// the recipes. Run it (README.md beside this file), then, from another terminal in the same folder:
//   npx hookline send muro conversation.opened --url http://127.0.0.1:3000/hooks/muro/webhook
import express from 'express';
import { createHookline } from 'hookline';

// The config as `hookline serve` finds it: $HOOKLINE_CONFIG, else ./hookline.yaml, else the bundled
// defaults (muro and MERU, secrets from MURO_WEBHOOK_SECRET and MERU_WEBHOOK_SECRET, or generated
// development ones under ./data). An object with the same keys works too: createHookline({ config: { … } }).
const hl = await createHookline();

const app = express();
// First: a webhook is verified over its exact bytes, so no body parser may read it before hookline.
app.use('/hooks', hl.express());
// The application's own routes and body parsers come after.
app.use(express.json());
app.get('/', (_req, res) => void res.send('my application, with hookline under /hooks'));
app.get('/metrics', async (_req, res) => void res.type(hl.metrics.registry.contentType).send(await hl.metrics.registry.metrics()));

const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1', () => {
  const address = server.address();
  const base = typeof address === 'object' && address ? `http://127.0.0.1:${address.port}` : String(address);
  const webhooks = hl.receiver.sources.map((source) => `  ${source.name} webhooks: POST ${base}/hooks${source.path}`);
  console.log([`listening on ${base}`, ...webhooks].join('\n'));
});
await hl.start();

// Stop accepting, let running steps finish, close the store.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close();
    server.closeIdleConnections();
    hl.stop().then(() => process.exit(0));
  });
}
