import { type Server, createServer } from 'node:http';
import { type Logger, logEvent } from '@vcu/logger';
import { type HealthCheck, type HealthReport, healthLogger } from './health.js';
import type { Metrics } from './metrics.js';

/**
 * How much a `/healthz` answer tells. `ok`: only the verdict, `{"ok":true}` (an anonymous caller
 * of the dashboard). `parts`: up or down for each part, `{"ok":false,"redis":"up","s3":"down"}`
 * (a watcher's or worker's own port; `files` too there: whether file system calls return). `reasons`: why each part is down instead of `down`, e.g.
 * `"s3":"connect ECONNREFUSED 10.0.0.7:9000"` (a caller with the dashboard's credentials): reasons
 * name internal hosts, so nobody else gets them; they are logged instead.
 */
export type HealthDetail = 'ok' | 'parts' | 'reasons';

/** The `/healthz` answer to a report: 200 when every part this process uses is up, else 503. */
export function healthResponse(report: HealthReport, detail: HealthDetail): { status: number; body: string } {
  const shown = (part: 'redis' | 's3' | 'files'): string => (detail === 'reasons' ? (report.reasons[part] ?? report[part]) : report[part]);
  // a process that does not read watched files (the dashboard) has no files part to tell
  const files = report.files === 'not checked' ? {} : { files: shown('files') };
  const body = detail === 'ok' ? { ok: report.ok } : { ok: report.ok, redis: shown('redis'), s3: shown('s3'), ...files };
  return { status: report.ok ? 200 : 503, body: `${JSON.stringify(body)}\n` };
}

/**
 * A small HTTP server for an app without one (watcher, worker): /healthz (up or down for each
 * part, the reasons go to the log) and /metrics. A port already in use is logged and the app goes
 * on without it: metrics are never worth a crash.
 */
export function serveMetrics({ port, metrics, health, logger }: { port: number; metrics: Metrics; health: HealthCheck; logger: Logger }): Server | undefined {
  if (port === 0) return undefined;
  const logDown = healthLogger(logger);
  const server = createServer((req, res) => {
    void (async () => {
      try {
        if (req.url === '/metrics') {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(await metrics.registry.metrics());
        } else if (req.url === '/healthz') {
          const report = await health.check();
          logDown(report);
          const { status, body } = healthResponse(report, 'parts');
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(body);
        } else {
          res.writeHead(404).end('not found: try /healthz or /metrics\n');
        }
      } catch (err) {
        logEvent(logger, 'metrics.request-failed', { url: req.url, err });
        if (!res.headersSent) res.writeHead(500);
        res.end();
      }
    })();
  });
  server.on('error', (err) => logEvent(logger, 'metrics.port-busy', { port, err }));
  server.listen(port, () => logEvent(logger, 'metrics.serving', { port }));
  return server;
}
