export { AppProcess, type AppOptions, type LogLine, unprivilegedPrefix } from './app-process.js';
export { RedisServer, freePort } from './redis-server.js';
export { type FinishedSpec, type SeededCheck, StreamSeeder } from './seed.js';
export { RedisCluster, SentinelGroup } from './redis-ha.js';
