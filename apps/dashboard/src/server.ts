import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express, { type Express } from 'express';
import { redactText } from '@vcu/config';
import { type Logger, describeError, logEvent } from '@vcu/logger';
import { type HealthCheck, type HealthReport, type Metrics, healthLogger, healthResponse } from '@vcu/metrics';
import type { Queues } from '@vcu/queue';
import type { StreamStore } from '@vcu/state';
import { type Auth, createAuth } from './auth.js';
import type { LoginLimiter } from './login-limiter.js';
import { sameOriginOnly, securityHeaders } from './security.js';
import type { StreamSampler } from './sampler.js';
import { type StreamsDeps, streamsRouter } from './streams-routes.js';

export interface DashboardDeps {
  readonly queues: Queues;
  readonly store: StreamStore;
  /** Samples the streams while the dashboard runs: throughput, rates, stuck streams. */
  readonly sampler: StreamSampler;
  /** Where metadata.json objects are. */
  readonly objects: StreamsDeps['objects'];
  readonly health: HealthCheck;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** undefined serves everything without authentication (DASHBOARD_AUTH=off). */
  readonly auth: { readonly user: string; readonly password: string } | undefined;
  readonly readOnly: boolean;
  /** Failed-login limits; the default allows 10 wrong passwords per client a minute. */
  readonly limiter?: LoginLimiter;
}

/**
 * The dashboard: Bull Board for every vcu queue under /queues and the live streams page under
 * /streams with the JSON it reads under /api (see streams-routes.ts), all behind basic
 * authentication. Every response forbids framing; every request that changes something must be
 * same-origin JSON (see security.ts). /metrics stays open for
 * Prometheus (counts, never data or secrets); /healthz tells anyone whether all is well and only
 * a caller with the credentials why not.
 */
export function createServer({ queues, store, sampler, objects, health, metrics, logger, auth, readOnly, limiter }: DashboardDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders());
  app.use(sameOriginOnly(logger));
  const gate: Auth | undefined = auth === undefined ? undefined : createAuth({ ...auth, logger, limiter });
  app.get('/healthz', healthRoute(health, gate, healthLogger(logger)));
  app.get('/metrics', (_req, res, next) => {
    metrics.registry
      .metrics()
      .then((text) => res.type(metrics.registry.contentType).send(text))
      .catch(next);
  });

  if (gate !== undefined) app.use(gate.middleware);
  app.use('/queues', bullBoard(queues, readOnly));
  app.use(streamsRouter({ store, sampler, objects }));
  app.get('/', (_req, res) => res.redirect('/queues'));

  // answered here, not by Express's default handlers, which drop the security headers
  app.use((_req, res) => {
    res.status(404).type('text/plain').send('not found\n');
  });
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    logEvent(logger, 'dashboard.request-failed', { err: redactText(describeError(err)) });
    res.status(500).type('text/plain').send('internal error\n');
  });
  return app;
}

/** `GET /healthz`: without credentials the verdict only (probes); with them, checked like any login, the reasons too. */
function healthRoute(health: HealthCheck, gate: Auth | undefined, logDown: (report: HealthReport) => void): express.RequestHandler {
  return (req, res, next) => {
    let detail: 'ok' | 'reasons' = 'ok';
    if (gate !== undefined && req.headers.authorization !== undefined) {
      const outcome = gate.check(req);
      if (outcome.kind !== 'ok') {
        gate.refuse(res, outcome);
        return;
      }
      detail = 'reasons';
    }
    health
      .check()
      .then((report) => {
        logDown(report);
        const { status, body } = healthResponse(report, detail);
        res.status(status).type('application/json').send(body);
      })
      .catch(next);
  };
}

/** Bull Board for both vcu queues, its actions hidden when read-only. */
function bullBoard(queues: Queues, readOnly: boolean): Express {
  const board = new ExpressAdapter();
  board.setBasePath('/queues');
  createBullBoard({
    queues: [queues.chunks, queues.finalize].map((q) => new BullMQAdapter(q, { readOnlyMode: readOnly })),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'vcu' } },
  });
  const boardApp = board.getRouter() as Express;
  boardApp.disable('x-powered-by');
  return boardApp;
}
