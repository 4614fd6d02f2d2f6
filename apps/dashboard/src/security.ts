import type { IncomingHttpHeaders } from 'node:http';
import type { RequestHandler } from 'express';
import { type Logger, logEvent, onceIn } from '@vcu/logger';

/**
 * What a dashboard page may load and who may frame it. Bull Board serves its scripts, styles,
 * images and translations itself, so 'self' covers them; it asks Google Fonts for its typeface,
 * which this refuses (the page falls back to the system font, and no third party learns who opens
 * it). Inline styles stay allowed: Bull Board's HTML uses style attributes and <style> elements
 * (the streams page needs none: its script and style are files the dashboard serves); inline
 * scripts do not, nor eval. No page may be framed (clickjacking).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  // same-origin requests keep their Origin header (no-referrer would make a form's Origin "null")
  'Referrer-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

/** The headers above on every response, set before anything else answers. */
export function securityHeaders(): RequestHandler {
  return (_req, res, next) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    next();
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Does `origin` (scheme://host[:port]) name the host the request was sent to? */
function sameHost(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  try {
    const from = new URL(origin);
    // the Host header read with the origin's scheme, so default ports compare equal (h and h:443)
    return from.host === new URL(`${from.protocol}//${host}`).host;
  } catch {
    return false; // "null" (sandboxed or privacy-sensitive contexts), or garbage
  }
}

/** A request that sends bytes: a length above 0, or chunked. */
function hasBody(headers: IncomingHttpHeaders): boolean {
  return (header(headers, 'content-length') ?? '0').trim() !== '0' || header(headers, 'transfer-encoding') !== undefined;
}

/**
 * Why a request must be refused as a possible cross-site request forgery, or undefined when it
 * may go on. A browser attaches cached Basic credentials to requests that other sites make it
 * send, so anything but GET, HEAD and OPTIONS must:
 * - come from this dashboard's own pages: `Sec-Fetch-Site` (sent by every current browser, and
 *   unforgeable by pages) must be `same-origin` or `none` (typed by the user); without it, an
 *   `Origin` header must name the host the request was sent to. A request with neither is not
 *   from a browser (curl, scripts) and cannot be forged by a site;
 * - send JSON if it sends anything: forms and `text/plain` are what other sites can send without
 *   asking; a JSON body needs a CORS preflight, which this server never grants. Bull Board's own
 *   buttons send JSON or nothing (e.g. retry is a PUT without a body).
 */
export function forgeryRefusal(req: { readonly method: string; readonly headers: IncomingHttpHeaders }): string | undefined {
  if (SAFE_METHODS.has(req.method)) return undefined;
  const site = header(req.headers, 'sec-fetch-site');
  const origin = header(req.headers, 'origin');
  if (site !== undefined ? site !== 'same-origin' && site !== 'none' : origin !== undefined && !sameHost(origin, header(req.headers, 'host'))) {
    return 'refused: a request that changes something must come from the dashboard\'s own pages, and this one came from another site\n';
  }
  const type = header(req.headers, 'content-type');
  const mediaType = type?.split(';', 1)[0]?.trim().toLowerCase();
  if ((type !== undefined || hasBody(req.headers)) && mediaType !== 'application/json') {
    return 'refused: a request that changes something must send JSON (Content-Type: application/json) or no body at all\n';
  }
  return undefined;
}

/**
 * Refuses, with 403 and the reason, every request {@link forgeryRefusal} objects to, on every
 * route (Bull Board's API included). Each client's refusals are logged once a minute.
 */
export function sameOriginOnly(logger: Logger): RequestHandler {
  const first = onceIn(60_000);
  return (req, res, next) => {
    const refusal = forgeryRefusal(req);
    if (refusal === undefined) {
      next();
      return;
    }
    const client = req.socket.remoteAddress ?? 'unknown';
    if (first(client)) {
      logEvent(logger, 'dashboard.forgery-refused', {
        client,
        method: req.method,
        path: req.path,
        origin: header(req.headers, 'origin'),
        site: header(req.headers, 'sec-fetch-site'),
        contentType: header(req.headers, 'content-type'),
      });
    }
    res.status(403).type('text/plain').send(refusal);
  };
}
