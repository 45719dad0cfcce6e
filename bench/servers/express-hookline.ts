// (e) hookline's express adapter: the receive core of (c), mounted with hl.express() in an express 5
// application; receiver only (no worker), the same config file as (c) (HOOKLINE_CONFIG).
import express from 'express';
import { createHookline } from '../../src/index.ts';

const hl = await createHookline({ config: process.env.HOOKLINE_CONFIG! });
const app = express();
app.use(hl.express());
app.get('/metrics', async (_req, res) => void res.type(hl.metrics.registry.contentType).send(await hl.metrics.registry.metrics()));

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
});
process.once('SIGTERM', () => {
  server.close();
  server.closeIdleConnections();
  void hl.stop().then(() => process.exit(0));
});
