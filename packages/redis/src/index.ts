export { type RedisOptions, createRedis, redisErrorCode, warnIfRedisEvicts, watchConnection } from './connection.js';
