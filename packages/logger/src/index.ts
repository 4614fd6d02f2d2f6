import winston from 'winston';
import { redactText } from '@vcu/config';
import { printable, printableJson } from '@vcu/files';
import { EVENTS, type EventName, type EventSpec } from './events.js';

export { EVENTS, type EventName, type EventSpec } from './events.js';

export type Logger = winston.Logger;

export interface LoggerOptions {
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  /** `json`: one JSON object a line (production); `pretty`: a readable line with key=value data. */
  readonly format: 'json' | 'pretty';
  /** Tagged on every line, e.g. `{ app: 'worker' }`. */
  readonly defaultMeta?: Record<string, unknown>;
}

// the event name is the message's own name: readable lines show the message only
const RESERVED = new Set(['level', 'message', 'timestamp', 'app', 'module', 'event']);

/**
 * A value of a readable line: a string with its control characters escaped (@vcu/files
 * `printable`: a file name never drives the terminal nor breaks the line), quoted when it holds
 * a space, `=` or `"`; anything else as JSON, escaped likewise.
 */
function prettyValue(value: unknown): string {
  const text = value instanceof Error ? value.message : value;
  if (typeof text !== 'string') return printableJson(text);
  const shown = printable(text);
  return /[\s="]/.test(shown) || shown === '' ? `"${shown.replaceAll('"', '\\"')}"` : shown;
}

/** One readable line (LOG_FORMAT=pretty): time, level, tag, the sentence, then key=value data. */
export function prettyLine(info: Readonly<Record<string, unknown>>): string {
  const data = Object.entries(info)
    .filter(([key, value]) => !RESERVED.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${prettyValue(value)}`)
    .join(' ');
  const tag = [info['app'], info['module']].filter((t) => typeof t === 'string').join('/');
  const time = typeof info['timestamp'] === 'string' ? info['timestamp'].slice(11, 23) : '';
  const level = typeof info['level'] === 'string' ? info['level'] : '';
  return `${time} ${level.padEnd(5)} [${printable(tag)}] ${printable(String(info['message']))}${data ? `  ${data}` : ''}`;
}

const pretty = winston.format.printf((info) => prettyLine(info));

/**
 * The one winston root of a process. Modules take `logger.child({ module: 'name' })`; each line
 * is a sentence plus data. Errors passed as `{ err }` are reduced to their message and code.
 */
export function createLogger(options: LoggerOptions): Logger {
  return winston.createLogger({
    level: options.level,
    defaultMeta: options.defaultMeta,
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format((info) => {
        const err = info['err'];
        if (err instanceof Error) info['err'] = describeError(err);
        return info;
      })(),
      options.format === 'json' ? winston.format.json() : pretty,
    ),
    transports: [new winston.transports.Console({ stderrLevels: [] })],
  });
}

/**
 * `message (code)`, the one string an error becomes in logs and in the CLI's output; the stack only
 * at debug level. A URL in it is shown without its password or secret parameters (redactText).
 */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return redactText(String(err));
  const code = (err as { code?: unknown }).code ?? (err as { Code?: unknown }).Code;
  const name = err.name !== 'Error' ? `${err.name}: ` : '';
  return redactText(`${name}${err.message}${typeof code === 'string' && !err.message.includes(code) ? ` (${code})` : ''}`);
}

/**
 * A gate for repetitive lines: true for the first call of each distinct text in every
 * `periodMs`, false otherwise. Used where a library reports the same failure on every retry, or a
 * sweep meets the same stuck stream again. Remembers at most `limit` texts, dropping the one said
 * longest ago first.
 */
export function onceIn(periodMs: number, now: () => number = Date.now, limit = 10_000): (text: string) => boolean {
  const last = new Map<string, number>();
  return (text) => {
    const t = now();
    if ((last.get(text) ?? -Infinity) > t - periodMs) return false;
    last.delete(text);
    last.set(text, t);
    if (last.size > limit) {
      const oldest = last.keys().next();
      if (oldest.done !== true) last.delete(oldest.value);
    }
    return true;
  };
}

/** What an event is written to: a winston logger, or anything with its `log(level, message, meta)`. */
export interface EventSink {
  log(level: string, message: string, meta: Record<string, unknown>): unknown;
}

/**
 * Writes one event of {@link EVENTS}: its fixed message at its level (or `level`, for an event
 * whose weight depends on the case), with `event` and `data` as fields.
 */
export function logEvent(logger: EventSink, name: EventName, data: Record<string, unknown> = {}, level?: EventSpec['level']): void {
  const spec = EVENTS[name];
  logger.log(level ?? spec.level, spec.message, { event: name, ...data });
}
