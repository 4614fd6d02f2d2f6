import { describeConfig, loadConfigOrExit } from '@vcu/config';
import { createObserver, onShutdown } from '@vcu/core';
import { createLogger } from '@vcu/logger';
import { createQueues, createRedis } from '@vcu/queue';
import { createStreamStore } from '@vcu/state';
import { createWatcher } from './watcher.js';

const config = loadConfigOrExit('watcher');
const logger = createLogger({ ...config.log, defaultMeta: { app: 'watcher' } });
logger.info('watcher starting', describeConfig(config));

const redis = createRedis({ url: config.redis.url, name: 'vcu-watcher', log: logger });
const queues = createQueues({
  connection: redis,
  prefix: config.redis.prefix,
  onError: (err, queue) => logger.warn('queue error', { queue, err }),
});
const store = createStreamStore({ redis, prefix: config.redis.prefix });
const observe = createObserver({ store, queues, chunkSize: config.chunkSize, logger });
const watcher = createWatcher({
  dir: config.watch.dir,
  patterns: config.watch.patterns,
  pollMs: config.watch.pollMs,
  streamIdleMs: config.streamIdleMs,
  observe,
  store,
  logger,
});

onShutdown({
  logger,
  timeoutMs: config.shutdownTimeoutMs,
  steps: [
    ['file watcher', () => watcher.close()],
    ['queues', () => queues.close()],
    ['redis', async () => void (await redis.quit())],
  ],
});

await watcher.start();
