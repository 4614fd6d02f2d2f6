export { type RedisClient, type RedisOptions, createRedis, credentialsOf, isOutOfMemory, reportOutOfMemory, warnIfRedisEvicts } from './connection.js';
