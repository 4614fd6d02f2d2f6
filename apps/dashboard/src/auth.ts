import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { type EventSink, logEvent } from '@vcu/logger';
import { LoginLimiter, clientKey } from './login-limiter.js';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The result of looking at a request's credentials. */
export type AuthOutcome =
  | { readonly kind: 'ok' }
  /** No credentials, or not Basic ones: asked for, not counted as a failure. */
  | { readonly kind: 'ask' }
  | { readonly kind: 'wrong' }
  | { readonly kind: 'slow-down'; readonly retryAfterS: number };

export interface Auth {
  /** Checks a request's credentials; a wrong password counts against its client. */
  check(req: Request): AuthOutcome;
  /** Answers a request whose check was not `ok`: 401 asking for credentials, or 429. */
  refuse(res: Response, outcome: Exclude<AuthOutcome, { kind: 'ok' }>): void;
  /** `check`, then `next()` or `refuse`. */
  readonly middleware: RequestHandler;
}

/** A user name as tried, fit for a log line: at most 64 characters, no control characters. */
function shownUser(user: string): string {
  return user.slice(0, 64).replace(/[\p{Cc}\p{Cf}]/gu, '?');
}

/**
 * HTTP basic authentication. Bull Board has none of its own and can retry or delete jobs, so
 * everything behind this asks for the dashboard's user and password, compared in constant time.
 * Wrong passwords are logged (client address and user name tried, never the password) and
 * limited per client by a {@link LoginLimiter}: past its allowance a client gets 429 with
 * Retry-After for every request. Each client's failures are logged at most twice a window: at
 * the first, and when it is locked out.
 */
export function createAuth({
  user,
  password,
  logger,
  limiter = new LoginLimiter(),
}: {
  user: string;
  password: string;
  logger: EventSink;
  limiter?: LoginLimiter;
}): Auth {
  const expected = digest(`${user}:${password}`);

  function check(req: Request): AuthOutcome {
    const client = clientKey(req.socket.remoteAddress);
    const waitMs = limiter.retryAfterMs(client);
    if (waitMs > 0) return { kind: 'slow-down', retryAfterS: Math.ceil(waitMs / 1000) };
    const [scheme, encoded] = (req.headers.authorization ?? '').split(' ');
    if (scheme?.toLowerCase() !== 'basic' || encoded === undefined) return { kind: 'ask' };
    const given = Buffer.from(encoded, 'base64').toString('utf8');
    if (timingSafeEqual(digest(given), expected)) {
      limiter.succeed(client);
      return { kind: 'ok' };
    }
    failedLogin({ logger, limiter, client, address: req.socket.remoteAddress ?? 'unknown', given });
    return { kind: 'wrong' };
  }

  return {
    check,
    refuse: refuseLogin,
    middleware: (req, res, next) => {
      const outcome = check(req);
      if (outcome.kind === 'ok') next();
      else refuseLogin(res, outcome);
    },
  };
}

/** A wrong user name or password: counted for the client, said at its first failure and when it is locked out. */
function failedLogin({ logger, limiter, client, address, given }: { logger: EventSink; limiter: LoginLimiter; client: string; address: string; given: string }): void {
  // user:password; without a colon the whole text may be a secret, so none of it is shown
  const tried = given.includes(':') ? shownUser(given.slice(0, given.indexOf(':'))) : '(not user:password)';
  const failure = limiter.fail(client, tried);
  if (failure.first) logEvent(logger, 'dashboard.login-failed', { client: address, user: tried });
  if (failure.lockedOut) {
    logEvent(logger, 'dashboard.login-throttled', {
      client: address,
      refusedForS: Math.ceil(failure.retryAfterMs / 1000),
      failures: failure.failures,
      users: failure.users,
    });
  }
}

/** The answer to a request that is not let in: 429 with Retry-After for a locked-out client, else 401 asking for credentials. */
function refuseLogin(res: Response, outcome: Exclude<AuthOutcome, { kind: 'ok' }>): void {
  if (outcome.kind === 'slow-down') {
    res.setHeader('Retry-After', String(outcome.retryAfterS));
    res.status(429).type('text/plain').send(`too many failed logins from your address: try again in ${outcome.retryAfterS} s\n`);
    return;
  }
  res.setHeader('WWW-Authenticate', 'Basic realm="vcu", charset="UTF-8"');
  res.status(401).type('text/plain').send('authentication required\n');
}
