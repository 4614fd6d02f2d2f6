import { stat } from 'node:fs/promises';
import { describeConfig, limitHeapGrowth, loadConfigOrExit } from '@vcu/config';
import { connect, onShutdown } from '@vcu/runtime';
import { createStreams } from '@vcu/streams';
import { createLogger, logEvent } from '@vcu/logger';
import { warnIfRedisEvicts } from '@vcu/redis';
import { createHealthCheck, createMetrics, serveMetrics } from '@vcu/metrics';
import { guardState } from './state-guard.js';
import { createWatcher } from './watcher.js';
import { canSeeWriters } from '@vcu/files';

// peak RSS ≤ 150 MiB with 5,000 new files at once (bench/, faults/hostile-files.test.ts); about
// 6 KiB of live state per file
limitHeapGrowth();

const config = loadConfigOrExit('watcher');
const logger = createLogger({ ...config.log, defaultMeta: { app: 'watcher' } });
logEvent(logger, 'app.starting', describeConfig(config));

const { redis, queues, store, outOfMemory, probeWrite } = connect({ config, logger, name: 'vcu-watcher' });
const streams = createStreams({ store, queues, chunkSize: config.chunkSize, logger });
const guard = guardState({ redis, store, everyMs: 5000, logger });
const watcher = createWatcher(
  {
    dir: config.watch.dir,
    patterns: config.watch.patterns,
    pollMs: config.watch.pollMs,
    rescanMs: config.watch.rescanMs,
    streamIdleMs: config.streamIdleMs,
    sealWhenClosed: config.watch.sealWhenClosed === 'on' || (config.watch.sealWhenClosed === 'auto' && canSeeWriters()),
  },
  { streams, store, epoch: () => guard.known, logger, outOfMemory },
);

const health = createHealthCheck({ redis, probeRedisWrite: probeWrite, probeFiles: () => stat(config.watch.dir) });
const metrics = createMetrics({ app: 'watcher', queues, store, streamIdleMs: config.streamIdleMs, health });
const metricsServer = serveMetrics({ port: config.metricsPort, metrics, health, logger });


onShutdown({
  logger,
  timeoutMs: config.shutdownTimeoutMs,
  steps: [
    ['state guard', () => Promise.resolve(guard.stop())],
    ['file watcher', () => watcher.close()],
    ['metrics server', () => new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()))],
    ['queues', () => queues.close()],
    ['redis', async () => void (await redis.quit())],
  ],
});

await guard.start((why) => watcher.rescanAll(why));
await warnIfRedisEvicts(redis, logger);
await watcher.start();
