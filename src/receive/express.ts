import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReceiveCore } from './core.ts';

/** A connect/express middleware: what `app.use()` and `router.use()` take, in express 4 and 5. */
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/** A body parser (express.json(), express.raw() …) read the body before hookline could verify its exact bytes. */
export class BodyAlreadyReadError extends Error {
  readonly status = 500;
  constructor(path: string) {
    super(
      `hookline: the body of ${path} was read by another middleware (a body parser such as express.json()) before hookline's router; ` +
        'a webhook is verified over its exact bytes, so mount hl.express() before any body parser (app.use(hl.express()); app.use(express.json()))',
    );
    this.name = 'BodyAlreadyReadError';
  }
}

/**
 * The express adapter: every received source's path, answered by the receive core on Node's request
 * and response (raw body, rule 0 before the body, limits, answers, metrics), as octokit's
 * middleware does. Any other path goes to `next()`. Mounted under a prefix (`app.use('/hooks', …)`),
 * the paths are relative to it, as express strips the prefix from `req.url`. It needs nothing of
 * express itself, so it works with the application's own express, whichever version.
 */
export function expressRouter(core: ReceiveCore): Middleware {
  return (req, res, next) => {
    const startedAt = performance.now();
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const source = core.sourceAt(query < 0 ? url : url.slice(0, query));
    if (!source) return next();
    if (req.readableDidRead || (req as { _body?: boolean })._body === true) return next(new BodyAlreadyReadError(source.path));
    core.handle(req, res, source, startedAt);
  };
}
