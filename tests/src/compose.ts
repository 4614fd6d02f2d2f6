// What Docker Compose does to docker-compose.yml before it runs anything, for tests on a machine
// without Docker: read a .env file, substitute `${…}` in every value, pick the services of the
// active profiles, and read the durations and sizes compose accepts. Written from the Compose
// specification (interpolation, profiles) and compose-go (dotenv, Go durations, memory sizes).
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export type Env = Readonly<Record<string, string>>;

export interface Dependency {
  condition?: string;
  required?: boolean;
}

export interface Mount {
  type?: string;
  source?: string;
  target?: string;
  read_only?: boolean;
  bind?: { create_host_path?: boolean };
}

export interface Service {
  image?: string;
  build?: unknown;
  profiles?: string[];
  command?: string[];
  entrypoint?: string[];
  user?: string;
  environment?: Record<string, string>;
  volumes?: (string | Mount)[];
  ports?: string[];
  depends_on?: Record<string, Dependency>;
  healthcheck?: { test?: string[] };
  restart?: string;
  container_name?: string;
  stop_grace_period?: string;
  logging?: { driver?: string; options?: Record<string, string> };
  deploy?: { replicas?: string | number; resources?: { limits?: { memory?: string } } };
}

export interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** The compose file as written (anchors and `<<` merges resolved, `${…}` left as is). */
export function readCompose(url: URL): ComposeFile {
  return parse(readFileSync(url, 'utf8'), { merge: true }) as ComposeFile;
}

/** Thrown for `${NAME:?message}` / `${NAME?message}` without a value, as compose refuses the file. */
export class MissingValueError extends Error {
  constructor(
    readonly variable: string,
    readonly hint: string,
  ) {
    super(`required variable ${variable} is missing a value: ${hint}`);
    this.name = 'MissingValueError';
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** Substitutes every `$NAME`, `${NAME}`, `${NAME-x}`, `${NAME:-x}`, `${NAME?x}`, `${NAME:?x}`, `${NAME+x}`, `${NAME:+x}` and `$$`. */
export function interpolate(text: string, env: Env): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const char = text[i] ?? '';
    if (char !== '$') {
      out += char;
      i += 1;
    } else if (text[i + 1] === '$') {
      out += '$';
      i += 2;
    } else if (text[i + 1] === '{') {
      const end = closingBrace(text, i + 2);
      out += substitute(text.slice(i + 2, end), env);
      i = end + 1;
    } else {
      const name = NAME.exec(text.slice(i + 1))?.[0];
      out += name === undefined ? '$' : (env[name] ?? '');
      i += 1 + (name?.length ?? 0);
    }
  }
  return out;
}

/** Index of the `}` closing a `${` whose body starts at `from`; nested `${…}` in defaults count. */
function closingBrace(text: string, from: number): number {
  let depth = 0;
  for (let i = from; i < text.length; i += 1) {
    if (text[i] === '$' && text[i + 1] === '{') {
      depth += 1;
      i += 1;
    } else if (text[i] === '}') {
      if (depth === 0) return i;
      depth -= 1;
    }
  }
  throw new Error(`invalid interpolation format: unclosed \${ in ${JSON.stringify(text)}`);
}

function substitute(body: string, env: Env): string {
  const name = NAME.exec(body)?.[0];
  if (name === undefined) throw new Error(`invalid interpolation format: \${${body}}`);
  const rest = body.slice(name.length);
  const value = env[name];
  const set = value !== undefined;
  const nonEmpty = set && value !== '';
  const operator = /^(:?[-?+])?/.exec(rest)?.[0] ?? '';
  const argument = rest.slice(operator.length);
  if (operator === '' && argument !== '') throw new Error(`invalid interpolation format: \${${body}}`);
  switch (operator) {
    case '':
      return value ?? '';
    case '-':
      return set ? value : interpolate(argument, env);
    case ':-':
      return nonEmpty ? value : interpolate(argument, env);
    case '+':
      return set ? interpolate(argument, env) : '';
    case ':+':
      return nonEmpty ? interpolate(argument, env) : '';
    case '?':
      if (!set) throw new MissingValueError(name, argument);
      return value;
    default: // ':?'
      if (!nonEmpty) throw new MissingValueError(name, argument);
      return value;
  }
}

/** Keys whose interpolated value compose-go casts to a boolean (its interpolateTypeCastMapping). */
const BOOLEAN_KEYS = new Set(['read_only']);

/** compose-go's toBoolean: y/yes/true/on and n/no/false/off, any case; anything else is an error. */
function toBoolean(text: string): boolean {
  if (/^(y|yes|true|on)$/i.test(text)) return true;
  if (/^(n|no|false|off)$/i.test(text)) return false;
  throw new Error(`compose refuses ${JSON.stringify(text)} where a boolean is expected`);
}

/**
 * Every string in `node` interpolated (keys are not, as in compose), and cast where compose casts
 * (`read_only`); other values unchanged.
 */
export function interpolateAll<T>(node: T, env: Env, key = ''): T {
  if (typeof node === 'string') {
    const value = interpolate(node, env);
    return (BOOLEAN_KEYS.has(key) ? toBoolean(value) : value) as T;
  }
  if (Array.isArray(node)) return node.map((item: unknown) => interpolateAll(item, env)) as T;
  if (typeof node === 'object' && node !== null) {
    return Object.fromEntries(Object.entries(node).map(([k, value]) => [k, interpolateAll(value as unknown, env, k)])) as T;
  }
  return node;
}

/**
 * A .env file as compose reads it: `KEY=value` lines, `#` comments, optional `export`, quotes
 * ('…' literal, "…" with escapes), ` #` ending an unquoted value, and `${…}` in unquoted and
 * double-quoted values resolved against the lines above. A later line wins over an earlier one.
 */
export function parseDotenv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim().replace(/^export\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`.env: cannot read the line ${JSON.stringify(raw)}`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (value.startsWith("'")) {
      env[key] = value.slice(1, value.lastIndexOf("'"));
    } else if (value.startsWith('"')) {
      const inner = value.slice(1, value.lastIndexOf('"')).replace(/\\([nt"\\])/g, (_m, c: string) => ({ n: '\n', t: '\t' })[c] ?? c);
      env[key] = interpolate(inner, env);
    } else {
      env[key] = interpolate(value.replace(/\s+#.*$/, ''), env);
    }
  }
  return env;
}

/** Every variable the file requires with `${NAME:?…}` or `${NAME?…}`. */
export function requiredVariables(composeText: string): Set<string> {
  return new Set([...composeText.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):?\?/g)].map((m) => m[1] ?? ''));
}

/** The services compose runs with these profiles active: those without `profiles`, and those with one of them. */
export function activeServices(compose: ComposeFile, profiles: readonly string[]): string[] {
  return Object.entries(compose.services)
    .filter(([, service]) => (service.profiles ?? []).length === 0 || (service.profiles ?? []).some((p) => profiles.includes(p)))
    .map(([name]) => name);
}

/** `COMPOSE_PROFILES` as compose splits it. */
export function profilesOf(env: Env): string[] {
  return (env['COMPOSE_PROFILES'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration (`stop_grace_period`), e.g. `40s`, `1m30s`, `30000ms10s`, in milliseconds. */
export function goDurationMs(text: string): number {
  if (!/^((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$/.test(text)) throw new Error(`not a Go duration: ${JSON.stringify(text)}`);
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * (DURATION_UNITS[m[2] ?? ''] ?? NaN);
  return total;
}

/** A Docker memory size (`300m`, `1g`, `512mb`, `1073741824`) in bytes; k, m, g, t are powers of 1024. */
export function dockerBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)b?$/i.exec(text.trim());
  if (!m) throw new Error(`not a Docker memory size: ${JSON.stringify(text)}`);
  const power = ['', 'k', 'm', 'g', 't'].indexOf((m[2] ?? '').toLowerCase());
  return Number(m[1]) * 1024 ** power;
}
