import { describeConfig, loadConfigOrExit } from '@vcu/config';
import { connect, onShutdown } from '@vcu/runtime';
import { createLogger, logEvent } from '@vcu/logger';
import { createHealthCheck, createMetrics } from '@vcu/metrics';
import { createS3Client, headBucket } from '@vcu/storage';
import { StreamSampler } from './sampler.js';
import { createServer } from './server.js';

const config = loadConfigOrExit('dashboard');
const logger = createLogger({ ...config.log, defaultMeta: { app: 'dashboard' } });
const { host, port } = config.dashboard;
logEvent(logger, 'app.starting', { ...describeConfig(config), host, port, auth: config.dashboard.auth, readOnly: config.dashboard.readOnly });
if (!config.dashboard.auth) logEvent(logger, 'dashboard.auth-off');

const { redis, queues, store, probeWrite } = connect({ config, logger, name: 'vcu-dashboard' });
const s3 = createS3Client(config.s3);
const health = createHealthCheck({ redis, probeRedisWrite: probeWrite, probeS3: () => headBucket({ client: s3, bucket: config.s3.bucket }) });
const metrics = createMetrics({ app: 'dashboard', queues, store, streamIdleMs: config.streamIdleMs, health });

const sampler = new StreamSampler({ store, chunks: queues.chunks, logger });
sampler.start();
const app = createServer({
  queues,
  store,
  sampler,
  objects: { target: { client: s3, bucket: config.s3.bucket }, prefix: config.s3.prefix },
  health,
  metrics,
  logger,
  auth: config.dashboard.auth ? { user: config.dashboard.user, password: config.dashboard.password } : undefined,
  readOnly: config.dashboard.readOnly,
});
// 0.0.0.0 and :: accept every address; the URL names one that reaches this machine
const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
const server = app.listen(port, host, () => logEvent(logger, 'dashboard.ready', { url: `http://${shownHost}:${port}/`, host, port }));
server.on('error', (err) => {
  logEvent(logger, 'dashboard.cannot-listen', { host, port, err });
  process.exit(1);
});

onShutdown({
  logger,
  timeoutMs: config.shutdownTimeoutMs,
  steps: [
    ['http server', () => new Promise<void>((resolve) => server.close(() => resolve()))],
    ['sampler', () => sampler.stop()],
    ['queues', () => queues.close()],
    ['redis', async () => void (await redis.quit())],
    ['s3', () => Promise.resolve(s3.destroy())],
  ],
});
