import { fileURLToPath } from 'node:url';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { type StreamStore, parseCursor } from '@vcu/state';
import { type Target, getObjectBytes, metadataKey } from '@vcu/storage';
import { streamDetail, streamRow } from './rows.js';
import type { StreamSampler } from './sampler.js';
import { MAX_PAGE, listStreams, streamWithChunks } from './streams-data.js';
import type { StreamPage } from './web/api.js';

/** The page's HTML, script and style, as the build put them (dist/static). */
export const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

export interface StreamsDeps {
  readonly store: StreamStore;
  readonly sampler: StreamSampler;
  /** The bucket and S3_PREFIX, to serve each stream's metadata.json. */
  readonly objects: { readonly target: Target; readonly prefix: string };
}

/** Stream ids are 24 hex digits (see streamIdFor); anything else names no stream. */
const STREAM_ID = /^[0-9a-f]{24}$/;

/** A request refused for what it asked, with the reason. */
class BadRequest extends Error {}

/** `limit` (1 to MAX_PAGE, default MAX_PAGE) and `cursor` of a list request. */
function pageQuery(req: Request): { limit: number; cursor: string | undefined } {
  const { limit, cursor } = req.query;
  if (limit !== undefined && (typeof limit !== 'string' || !/^\d{1,4}$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_PAGE)) {
    throw new BadRequest(`limit must be a whole number from 1 to ${MAX_PAGE}`);
  }
  if (cursor !== undefined && (typeof cursor !== 'string' || (cursor !== '' && parseCursor(cursor) === undefined))) {
    throw new BadRequest("cursor must be a page's `next`, given once");
  }
  return { limit: limit === undefined ? MAX_PAGE : Number(limit), cursor: cursor === '' ? undefined : cursor };
}

/** An async handler whose failure goes to Express (a BadRequest as 400, anything else as 500). */
function route(handle: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return (req, res, next) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof BadRequest) res.status(400).type('text/plain').send(`${err.message}\n`);
      else next(err);
    });
  };
}

const notFound = (res: Response): void => void res.status(404).type('text/plain').send('no such stream\n');

/**
 * The streams page (`/streams`, `/streams/:id`: one HTML file; its script draws the list or one
 * stream and keeps it current), its script and style (`/static/`), and the JSON it reads:
 * `/api/streams` (pages, newest first), `/api/streams/:id` (a stream and its chunks),
 * `/api/streams/:id/metadata.json` (the object in S3) and `/api/summary` (counts, throughput).
 */
export function streamsRouter({ store, sampler, objects }: StreamsDeps): Router {
  const router = express.Router();
  const page: RequestHandler = (_req, res) => res.sendFile('streams.html', { root: STATIC_DIR, headers: { 'Cache-Control': 'no-cache' } });
  router.get('/streams', page);
  router.get('/streams/:id', page);
  // browsers ask every page's origin for one, the JSON answers included
  router.get('/favicon.ico', (_req, res) => res.sendFile('favicon.svg', { root: STATIC_DIR }));
  router.use('/static', express.static(STATIC_DIR, { index: false, setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache') }));
  router.get('/api/summary', (_req, res) => void res.json(sampler.summary()));
  router.get(
    '/api/streams',
    route(async (req, res) => {
      const { streams, next } = await listStreams(store, pageQuery(req));
      const body: StreamPage = {
        streams: streams.map((s) => streamRow(s, sampler.failedOf(s.id), sampler.rateOf(s.id))),
        next: next ?? null,
        now: new Date().toISOString(),
      };
      res.json(body);
    }),
  );
  router.get(
    '/api/streams/:id',
    route(async (req, res) => {
      const id = String(req.params['id']);
      const found = STREAM_ID.test(id) ? await streamWithChunks(store, objects, id) : undefined;
      if (found === undefined) return notFound(res);
      res.json(streamDetail({ ...found, failed: sampler.failedOf(id), bytesPerSecond: sampler.rateOf(id), prefix: objects.prefix, now: Date.now() }));
    }),
  );
  router.get(
    '/api/streams/:id/metadata.json',
    route(async (req, res) => {
      const id = String(req.params['id']);
      const body = STREAM_ID.test(id) ? await getObjectBytes(objects.target, metadataKey(objects.prefix, id)) : undefined;
      if (body === undefined) return void res.status(404).type('text/plain').send('no metadata.json for this stream (yet)\n');
      res.type('application/json').setHeader('Content-Disposition', 'inline; filename="metadata.json"');
      res.send(body);
    }),
  );
  return router;
}
