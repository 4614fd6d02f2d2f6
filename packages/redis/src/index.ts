export { type RedisOptions, createRedis, isOutOfMemory, reportOutOfMemory, warnIfRedisEvicts } from './connection.js';
