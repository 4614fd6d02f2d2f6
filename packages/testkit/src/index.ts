export { AppProcess, type AppOptions, type LogLine, unprivilegedPrefix } from './app-process.js';
export { RedisServer, freePort } from './redis-server.js';
export { RedisCluster, SentinelGroup } from './redis-ha.js';
