import { type Server, createServer } from 'node:http';
import type { Logger } from '@vcu/logger';
import type { HealthCheck } from './health.js';
import type { Metrics } from './metrics.js';

/** `GET /healthz`: 200 with the report when Redis and S3 answer, else 503 with the reason. */
export async function healthResponse(health: HealthCheck): Promise<{ status: number; body: string }> {
  const report = await health.check();
  return { status: report.ok ? 200 : 503, body: `${JSON.stringify(report)}\n` };
}

/**
 * A small HTTP server for an app without one (watcher, worker): /healthz and /metrics.
 * A port already in use is logged and the app goes on without it: metrics are never worth a crash.
 */
export function serveMetrics({ port, metrics, health, logger }: { port: number; metrics: Metrics; health: HealthCheck; logger: Logger }): Server | undefined {
  if (port === 0) return undefined;
  const server = createServer((req, res) => {
    void (async () => {
      try {
        if (req.url === '/metrics') {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(await metrics.registry.metrics());
        } else if (req.url === '/healthz') {
          const { status, body } = await healthResponse(health);
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(body);
        } else {
          res.writeHead(404).end('not found: try /healthz or /metrics\n');
        }
      } catch (err) {
        logger.warn('metrics request failed', { url: req.url, err });
        if (!res.headersSent) res.writeHead(500);
        res.end();
      }
    })();
  });
  server.on('error', (err) => logger.warn(`cannot serve /metrics and /healthz on port ${port}; going on without them`, { port, err }));
  server.listen(port, () => logger.info('serving /healthz and /metrics', { port }));
  return server;
}
