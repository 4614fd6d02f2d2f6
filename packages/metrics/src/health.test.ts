import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type HealthReport, createHealthCheck, healthLogger } from './health.js';
import { healthResponse } from './server.js';

const readyRedis = { status: 'ready' as const, ping: () => Promise.resolve('PONG' as const) };

void describe('createHealthCheck', () => {
  void it('says up for each part that answers', async () => {
    const report = await createHealthCheck({ redis: readyRedis, probeS3: () => Promise.resolve() }).check();
    assert.deepEqual(report, { ok: true, redis: 'up', s3: 'up', files: 'not checked', reasons: {} });
    assert.deepEqual(await createHealthCheck({ redis: readyRedis }).check(), { ok: true, redis: 'up', s3: 'not checked', files: 'not checked', reasons: {} });
  });

  void it('says down and keeps why, with any URL in the reason redacted', async () => {
    const report = await createHealthCheck({
      redis: { status: 'reconnecting', ping: () => Promise.resolve('PONG' as const) },
      probeS3: () => Promise.reject(new Error('cannot reach http://key:hunter2@minio.internal:9000/?token=abc')),
    }).check();
    assert.equal(report.ok, false);
    assert.deepEqual([report.redis, report.s3], ['down', 'down']);
    assert.equal(report.reasons.redis, 'not connected (reconnecting)');
    assert.equal(report.reasons.s3, 'cannot reach http://key:***@minio.internal:9000/?token=***');
  });

  void it('gives up on a probe that does not answer', async () => {
    const report = await createHealthCheck({ redis: readyRedis, probeS3: () => new Promise(() => undefined), timeoutMs: 50 }).check();
    assert.deepEqual({ s3: report.s3, reason: report.reasons.s3 }, { s3: 'down', reason: 'S3 did not answer within 50 ms' });
  });
});

void describe('healthResponse', () => {
  const down: HealthReport = { ok: false, redis: 'up', s3: 'down', files: 'not checked', reasons: { s3: 'connect ECONNREFUSED 10.0.0.7:9000' } };
  const up: HealthReport = { ok: true, redis: 'up', s3: 'not checked', files: 'not checked', reasons: {} };

  void it('tells an anonymous caller only the verdict', () => {
    assert.deepEqual(healthResponse(up, 'ok'), { status: 200, body: '{"ok":true}\n' });
    assert.deepEqual(healthResponse(down, 'ok'), { status: 503, body: '{"ok":false}\n' });
  });

  void it('tells up or down per part, without the reason, on a watcher or worker', () => {
    assert.deepEqual(healthResponse(down, 'parts'), { status: 503, body: '{"ok":false,"redis":"up","s3":"down"}\n' });
    assert.deepEqual(healthResponse(up, 'parts'), { status: 200, body: '{"ok":true,"redis":"up","s3":"not checked"}\n' });
  });

  void it('tells the reasons only when asked for them', () => {
    assert.deepEqual(healthResponse(down, 'reasons'), { status: 503, body: '{"ok":false,"redis":"up","s3":"connect ECONNREFUSED 10.0.0.7:9000"}\n' });
  });
});

void describe('healthLogger', () => {
  void it('logs each reason once a minute, not on every probe', () => {
    const lines: [string, Record<string, unknown>][] = [];
    const log = healthLogger({ log: (_level, message, meta) => lines.push([message, meta]) });
    const report = (s3: string): HealthReport => ({ ok: false, redis: 'up', s3: 'down', files: 'not checked', reasons: { s3 } });
    for (let i = 0; i < 5; i += 1) log(report('connect ECONNREFUSED 10.0.0.7:9000'));
    log(report('S3 did not answer within 3000 ms'));
    log({ ok: true, redis: 'up', s3: 'up', files: 'not checked', reasons: {} });
    assert.deepEqual(lines, [
      ['health check: a part is down', { event: 'health.part-down', part: 's3', reason: 'connect ECONNREFUSED 10.0.0.7:9000' }],
      ['health check: a part is down', { event: 'health.part-down', part: 's3', reason: 'S3 did not answer within 3000 ms' }],
    ]);
  });
});
