import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { credentialsOf, redisErrorCode, watchConnection } from './connection.js';

/** An error reply as ioredis raises it (redis-errors' ReplyError): the server's text, name ReplyError. */
const reply = (text: string): Error => Object.assign(new Error(text), { name: 'ReplyError' });

function watched() {
  const lines: { level: string; message: string; meta: Record<string, unknown> | undefined }[] = [];
  const log = { log: (level: string, message: string, meta: Record<string, unknown>) => lines.push({ level, message, meta }) };
  const connection = new EventEmitter();
  let clock = 1_000_000;
  watchConnection(connection, { name: 'vcu-test', log, now: () => clock });
  return {
    lines,
    emit: (event: string, value?: unknown) => connection.emit(event, value),
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

void describe('redisErrorCode', () => {
  void it('is the first word of an error reply', () => {
    assert.equal(redisErrorCode(reply('WRONGPASS invalid username-password pair or user is disabled.')), 'WRONGPASS');
    assert.equal(redisErrorCode(reply('NOAUTH Authentication required.')), 'NOAUTH');
    assert.equal(redisErrorCode(reply('ERR unknown command')), 'ERR');
  });

  void it('is undefined for errors that are not replies, even when their text looks like one', () => {
    assert.equal(redisErrorCode(new Error('WRONGPASS in a message')), undefined);
    assert.equal(redisErrorCode(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' })), undefined);
    assert.equal(redisErrorCode('WRONGPASS'), undefined);
    assert.equal(redisErrorCode(reply('lowercase is no code')), undefined);
  });
});

void describe('watchConnection', () => {
  void it('reports a wrong password at error level, naming the connection and the code, once a minute at most', () => {
    const c = watched();
    for (let i = 0; i < 20; i += 1) {
      c.emit('error', reply('WRONGPASS invalid username-password pair or user is disabled.'));
      c.advance(2000);
    }
    assert.equal(c.lines.length, 1, JSON.stringify(c.lines));
    const [line] = c.lines;
    assert.equal(line?.level, 'error');
    assert.match(line?.message ?? '', /^Redis refused the password: the password or ACL user name in REDIS_URL is wrong/);
    assert.doesNotMatch(line?.message ?? '', /unreachable/);
    assert.deepEqual({ connection: line?.meta?.['connection'], code: line?.meta?.['code'] }, { connection: 'vcu-test', code: 'WRONGPASS' });

    c.advance(20_001); // 60 s after the first report
    c.emit('error', reply('WRONGPASS invalid username-password pair or user is disabled.'));
    assert.equal(c.lines.length, 2);
    assert.equal(c.lines[1]?.level, 'error');
  });

  void it('tells NOAUTH apart, and says when Redis lets it in', () => {
    const c = watched();
    c.emit('error', reply('NOAUTH Authentication required.'));
    c.emit('error', reply('NOAUTH Authentication required.'));
    c.emit('ready');
    assert.deepEqual(
      c.lines.map((l) => [l.level, l.message.slice(0, 40)]),
      [
        ['error', 'Redis requires a password and REDIS_URL '],
        ['info', 'connected to Redis'],
      ],
    );
    // broken again after it worked: said again at once
    c.emit('error', reply('WRONGPASS invalid username-password pair or user is disabled.'));
    assert.equal(c.lines.at(-1)?.level, 'error');
  });

  void it('says an outage once, as before, and a refusal even while the connection is already down', () => {
    const c = watched();
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
    c.emit('error', refused);
    c.emit('error', refused);
    c.emit('error', reply('WRONGPASS invalid username-password pair or user is disabled.'));
    c.emit('ready');
    c.emit('error', refused);
    c.emit('ready');
    assert.deepEqual(
      c.lines.map((l) => [l.level, l.message]),
      [
        ['warn', 'Redis unreachable; retrying until it answers'],
        ['error', 'Redis refused the password: the password or ACL user name in REDIS_URL is wrong, or that ACL user is disabled; retrying every few seconds until it is fixed, no restart needed'],
        ['info', 'connected to Redis'],
        ['warn', 'Redis connection lost; retrying until it is back'],
        ['info', 'Redis connection restored'],
      ],
    );
  });
});

void describe('credentialsOf', () => {
  void it('takes the user name, password, database and TLS from REDIS_URL', () => {
    assert.deepEqual(credentialsOf('rediss://vcu:p%40ss@ignored:6380/3'), { username: 'vcu', password: 'p@ss', db: 3, tls: {} });
    assert.deepEqual(credentialsOf('redis://h:6379/?password=pw'), { password: 'pw', db: 0 });
    assert.deepEqual(credentialsOf('redis://127.0.0.1:6379'), { db: 0 });
  });
});
