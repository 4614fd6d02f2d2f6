/**
 * Secrets out of everything vcu shows: log lines, error messages, HTTP responses. A URL can carry
 * a password in its user-info (`redis://user:pw@host`) or in a query parameter
 * (`redis://host:6379/?password=pw`, which ioredis reads as the password); both become `***`.
 * A user name stays unless `hideUser` is set: it names an identity (e.g. a Redis ACL user), not a
 * secret, and tells an operator which one was refused; where a user name has no business at all
 * (S3_ENDPOINT, whose user-info could only be keys), it goes too.
 */

/** Query parameters whose values are secrets: `password`, `pass`, `pwd`, `secret`, `token`, `credentials`… */
const SECRET_PARAM = /pass|pwd|secret|token|credential/i;
const SECRET_PARAM_IN_TEXT = /([?&][^=&#\s]*(?:pass|pwd|secret|token|credential)[^=&#\s]*=)[^&#\s]*/gi;
/**
 * A URL in free text: a scheme, `://`, then anything up to white space, or up to a quote that
 * closes it (one followed by white space, punctuation or the end; a quote inside a password is
 * kept). Punctuation that ends the match is taken off it, see redactText.
 */
const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/(?:[^\s"'<>`]|["'](?![\s,;:)\]}]|$))+/gi;
/** Where another URL starts inside a match (two URLs joined by a comma): each is redacted alone. */
const NEXT_URL = /(?<![a-z0-9+.-])(?=[a-z][a-z0-9+.-]*:\/\/)/i;

/** A URL fit for logs, error messages and responses: its password and secret query parameters replaced by `***`. */
export function redactUrl(raw: string, { hideUser = false }: { hideUser?: boolean } = {}): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return redactUnparsed(raw, hideUser);
  }
  const secretParams = [...new Set(url.searchParams.keys())].filter((key) => SECRET_PARAM.test(key));
  const user = hideUser && url.username !== '';
  if (url.password === '' && secretParams.length === 0 && !user) return raw;
  if (user) url.username = '***';
  if (url.password !== '') url.password = '***';
  for (const key of secretParams) url.searchParams.set(key, '***');
  return url.toString();
}

/**
 * A URL that does not parse (a typo elsewhere in it): everything between `//` and the last `@` is
 * hidden but the user name, since an unescaped `@` may be part of the password.
 */
function redactUnparsed(raw: string, hideUser: boolean): string {
  const query = raw.replace(SECRET_PARAM_IN_TEXT, '$1***');
  const start = query.indexOf('//');
  const at = query.lastIndexOf('@');
  if (start < 0 || at <= start) return query;
  const credentials = query.slice(start + 2, at);
  const colon = credentials.indexOf(':');
  const shown = colon < 0 ? '***' : `${hideUser ? '***' : credentials.slice(0, colon)}:***`;
  return `${query.slice(0, start + 2)}${shown}${query.slice(at)}`;
}

/** Free text (an error message, a reason) with every URL in it passed through {@link redactUrl}. */
export function redactText(text: string): string {
  return text.replace(URL_IN_TEXT, (match) => match.split(NEXT_URL).map(redactOne).join(''));
}

/** One URL of free text, redacted; a closing quote or punctuation at its end is not part of it. */
function redactOne(match: string): string {
  const url = match.replace(/[.,;:!?)\]}"']+$/, '');
  return redactUrl(url) + match.slice(url.length);
}
