export { type Config, ConfigError, type RedisTopology, givenValue, loadConfig, loadConfigOrExit, redisKeyPrefix } from './config.js';
export {
  type AppName,
  type LogFormat,
  type LogLevel,
  SETTINGS,
  type SettingName,
} from './settings.js';
export { settingsTable } from './readme.js';
export { type HostPort, type Problem, formatBytes, parseSize } from './parse.js';
export { redactText, redactUrl } from './redact.js';
export { describeConfig } from './describe.js';
export { NODE_FLAGS, type ServiceName, appCommand, appScript, limitHeapGrowth } from './launch.js';
