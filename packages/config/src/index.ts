export { type Config, ConfigError, loadConfig, loadConfigOrExit } from './config.js';
export {
  type AppName,
  type LogFormat,
  type LogLevel,
  LOG_FORMATS,
  LOG_LEVELS,
  MAX_CHUNK_SIZE,
  MIN_PART_SIZE,
  SETTINGS,
  type SettingName,
} from './settings.js';
export { settingsTable } from './readme.js';
export { type Problem, formatBytes, parseSize } from './parse.js';
export { redactText, redactUrl } from './redact.js';
export { describeConfig } from './describe.js';
