import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express, { type Express } from 'express';
import type { Logger } from '@vcu/logger';
import { type HealthCheck, type Metrics, healthResponse } from '@vcu/metrics';
import type { Queues } from '@vcu/queue';
import type { StreamStore } from '@vcu/state';
import { basicAuth } from './auth.js';
import { listStreams, renderStreams } from './streams.js';

export interface DashboardDeps {
  readonly queues: Queues;
  readonly store: StreamStore;
  readonly health: HealthCheck;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** undefined serves everything without authentication (DASHBOARD_AUTH=off). */
  readonly auth: { readonly user: string; readonly password: string } | undefined;
  readonly readOnly: boolean;
}

/**
 * The dashboard: Bull Board for every vcu queue under /queues and the streams view under
 * /streams, both behind basic authentication; /healthz and /metrics stay open for probes and
 * Prometheus (they reveal counts, never data or secrets).
 */
export function createServer({ queues, store, health, metrics, logger, auth, readOnly }: DashboardDeps): Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', (_req, res, next) => {
    healthResponse(health)
      .then(({ status, body }) => res.status(status).type('application/json').send(body))
      .catch(next);
  });
  app.get('/metrics', (_req, res, next) => {
    metrics.registry
      .metrics()
      .then((text) => res.type(metrics.registry.contentType).send(text))
      .catch(next);
  });

  if (auth !== undefined) app.use(basicAuth(auth.user, auth.password));

  const board = new ExpressAdapter();
  board.setBasePath('/queues');
  createBullBoard({
    queues: [queues.chunks, queues.finalize].map((q) => new BullMQAdapter(q, { readOnlyMode: readOnly })),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'vcu' } },
  });
  app.use('/queues', board.getRouter() as express.Router);

  app.get('/api/streams', (_req, res, next) => {
    listStreams(store)
      .then((rows) => res.json({ streams: rows }))
      .catch(next);
  });
  app.get('/streams', (_req, res, next) => {
    listStreams(store)
      .then((rows) => res.type('html').send(renderStreams(rows)))
      .catch(next);
  });
  app.get('/', (_req, res) => res.redirect('/queues'));

  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    logger.warn('dashboard request failed', { err });
    res.status(500).type('text/plain').send('internal error\n');
  });
  return app;
}
