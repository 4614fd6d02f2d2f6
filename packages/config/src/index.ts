export { type Config, ConfigError, loadConfig, loadConfigOrExit } from './config.js';
export {
  type AppName,
  type LogFormat,
  type LogLevel,
  SETTINGS,
  type SettingName,
} from './settings.js';
export { settingsTable } from './readme.js';
export { type Problem, formatBytes, parseSize } from './parse.js';
export { redactText, redactUrl } from './redact.js';
export { describeConfig } from './describe.js';
