export {
  type AppName,
  type Config,
  ConfigError,
  type LogFormat,
  type LogLevel,
  LOG_FORMATS,
  LOG_LEVELS,
  MAX_CHUNK_SIZE,
  MIN_PART_SIZE,
  SETTINGS,
  loadConfig,
  loadConfigOrExit,
} from './config.js';
export { type Problem, formatBytes, parseSize } from './parse.js';
export { redactText, redactUrl } from './redact.js';
export { describeConfig } from './describe.js';
