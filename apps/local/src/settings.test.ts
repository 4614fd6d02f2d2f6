import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LocalSettingError, dashboardAuthOff, localSettings } from './settings.js';

const cwd = '/home/me/vcu';

void describe('pnpm start settings', () => {
  void it('defaults: ./input, pretty logs, the dashboard on 127.0.0.1, the embedded S3 server on 4568 under ./data/s3', () => {
    const { env, embedded } = localSettings({}, cwd);
    assert.equal(env['WATCH_DIR'], path.join(cwd, 'input'));
    assert.equal(env['LOG_FORMAT'], 'pretty');
    assert.equal(env['DASHBOARD_HOST'], '127.0.0.1');
    assert.deepEqual(embedded, { directory: path.join(cwd, 'data', 's3'), port: 4568 });
    assert.equal(env['S3_ENDPOINT'], 'http://127.0.0.1:4568');
  });

  void it('treats an empty or blank value as unset, as the apps do: the dashboard never opens to every interface by accident', () => {
    const { env, embedded } = localSettings({ WATCH_DIR: '', DASHBOARD_HOST: '', LOG_FORMAT: ' ', S3_ENDPOINT: '  ', LOCAL_S3_DIR: '', LOCAL_S3_PORT: '' }, cwd);
    assert.equal(env['WATCH_DIR'], path.join(cwd, 'input'));
    assert.equal(env['DASHBOARD_HOST'], '127.0.0.1');
    assert.equal(env['LOG_FORMAT'], 'pretty');
    assert.deepEqual(embedded, { directory: path.join(cwd, 'data', 's3'), port: 4568 });
  });

  void it('keeps what the environment sets', () => {
    const { env, embedded } = localSettings({ WATCH_DIR: '/videos', DASHBOARD_HOST: '0.0.0.0', S3_ENDPOINT: 'http://minio:9000' }, cwd);
    assert.equal(env['WATCH_DIR'], '/videos');
    assert.equal(env['DASHBOARD_HOST'], '0.0.0.0');
    assert.equal(env['S3_ENDPOINT'], 'http://minio:9000');
    assert.equal(embedded, undefined);
    assert.equal(localSettings({ LOCAL_S3_PORT: ' 9000 ' }, cwd).embedded?.port, 9000);
  });

  void it('refuses a LOCAL_S3_PORT that is no TCP port, naming it', () => {
    for (const value of ['abc', '0', '65536', '-1', '80.5', '4568x']) {
      assert.throws(() => localSettings({ LOCAL_S3_PORT: value }, cwd), (err: unknown) => err instanceof LocalSettingError && err.message === `LOCAL_S3_PORT="${value}": expected a TCP port from 1 to 65535`, value);
    }
    // not looked at when S3 is elsewhere
    assert.equal(localSettings({ LOCAL_S3_PORT: 'abc', S3_ENDPOINT: 'http://minio:9000' }, cwd).embedded, undefined);
  });

  void it('reads DASHBOARD_AUTH=off in any case and with blanks, as the dashboard does', () => {
    for (const value of ['off', 'OFF', ' Off ']) assert.equal(dashboardAuthOff({ DASHBOARD_AUTH: value }), true, value);
    for (const value of [undefined, '', 'on', 'ON']) assert.equal(dashboardAuthOff(value === undefined ? {} : { DASHBOARD_AUTH: value }), false, String(value));
  });
});
