export { type RedisOptions, createRedis, warnIfRedisEvicts } from './connection.js';
