import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * HTTP basic authentication. Bull Board has none of its own and can retry or delete jobs, so
 * everything behind this asks for the dashboard's user and password. Compared in constant time.
 */
export function basicAuth(user: string, password: string): RequestHandler {
  const expected = digest(`${user}:${password}`);
  return (req, res, next) => {
    const header = req.headers.authorization ?? '';
    const [scheme, encoded] = header.split(' ');
    if (scheme?.toLowerCase() === 'basic' && encoded !== undefined) {
      const given = digest(Buffer.from(encoded, 'base64').toString('utf8'));
      if (timingSafeEqual(given, expected)) {
        next();
        return;
      }
    }
    res.setHeader('WWW-Authenticate', 'Basic realm="vcu", charset="UTF-8"');
    res.status(401).type('text/plain').send('authentication required\n');
  };
}
