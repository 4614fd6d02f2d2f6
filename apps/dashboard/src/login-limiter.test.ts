import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoginLimiter, clientKey } from './login-limiter.js';

void describe('clientKey', () => {
  void it('is the IPv4 address, also when it arrives IPv4-mapped', () => {
    assert.equal(clientKey('192.0.2.7'), '192.0.2.7');
    assert.equal(clientKey('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(clientKey(undefined), 'unknown');
  });

  void it('is the /64 network of an IPv6 address, however it is written', () => {
    assert.equal(clientKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:0db8:0001:0002::1'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(clientKey('::1'), '0:0:0:0::/64');
    assert.equal(clientKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  });
});

void describe('LoginLimiter', () => {
  function limiter(options: { maxClients?: number } = {}) {
    let clock = 0;
    const l = new LoginLimiter({ maxFailures: 10, windowMs: 60_000, now: () => clock, ...options });
    return { l, advance: (ms: number) => (clock += ms) };
  }

  void it('lets a client fail 10 times a minute, then makes it wait for the rest of the minute', () => {
    const { l, advance } = limiter();
    for (let i = 1; i <= 10; i += 1) {
      assert.equal(l.retryAfterMs('a'), 0, `attempt ${i} is looked at`);
      const failure = l.fail('a', 'admin');
      assert.equal(failure.failures, i);
      assert.equal(failure.first, i === 1);
      assert.equal(failure.lockedOut, i === 10);
      advance(1000);
    }
    assert.equal(l.retryAfterMs('a'), 50_000);
    assert.equal(l.retryAfterMs('b'), 0, 'other clients are not affected');
    advance(50_000);
    assert.equal(l.retryAfterMs('a'), 0, 'a new minute, a new allowance');
    assert.equal(l.fail('a', 'admin').first, true);
  });

  void it('forgets a client that gets the password right', () => {
    const { l } = limiter();
    for (let i = 0; i < 9; i += 1) l.fail('a', 'admin');
    l.succeed('a');
    assert.equal(l.fail('a', 'admin').failures, 1);
  });

  void it('keeps the first few user names tried', () => {
    const { l } = limiter();
    let users: readonly string[] = [];
    for (const user of ['admin', 'root', 'admin', 'a', 'b', 'c', 'd']) users = l.fail('x', user).users;
    assert.deepEqual(users, ['admin', 'root', 'a', 'b', 'c']);
  });

  void it('remembers a bounded number of clients, forgetting the one that failed least recently', () => {
    const { l } = limiter({ maxClients: 3 });
    for (const client of ['a', 'b', 'c']) for (let i = 0; i < 10; i += 1) l.fail(client, 'u');
    l.fail('a', 'u'); // a failed most recently now: b is the oldest
    l.fail('d', 'u');
    assert.equal(l.size, 3);
    assert.equal(l.retryAfterMs('b'), 0, 'b was forgotten');
    assert.ok(l.retryAfterMs('a') > 0 && l.retryAfterMs('c') > 0);
    for (let i = 0; i < 100_000; i += 1) l.fail(`flood-${i}`, 'u');
    assert.equal(l.size, 3);
  });
});
