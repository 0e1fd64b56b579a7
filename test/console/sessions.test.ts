/**
 * The console's server-held login state with a clock the test moves: a challenge is good once and
 * for two minutes, unauthenticated callers cannot grow it without bound, and a session ends after
 * eight hours or at logout.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Challenges, CHALLENGE_TTL_MS, MAX_PENDING_CHALLENGES, Sessions, SESSION_TTL_MS } from '../../src/console/sessions';

test('a challenge is taken once, and not after it expires', () => {
  let now = 0;
  const challenges = new Challenges<string>(() => now);
  challenges.remember('a', 'alice');
  challenges.remember('b', 'bob');
  assert.equal(challenges.take('a'), 'alice');
  assert.equal(challenges.take('a'), undefined, 'used');
  now = CHALLENGE_TTL_MS + 1;
  assert.equal(challenges.take('b'), undefined, 'expired');
  assert.equal(challenges.take(undefined), undefined);
  assert.equal(challenges.take('never issued'), undefined);
});

test('pending challenges are bounded: the oldest go first', () => {
  const challenges = new Challenges<number>(() => 0);
  for (let i = 0; i <= MAX_PENDING_CHALLENGES; i++) challenges.remember(`c${i}`, i);
  assert.equal(challenges.take('c0'), undefined, 'the oldest was dropped');
  assert.equal(challenges.take('c1'), 1);
  assert.equal(challenges.take(`c${MAX_PENDING_CHALLENGES}`), MAX_PENDING_CHALLENGES);
});

test('a session has a random id and CSRF token, lasts eight hours, and ends at logout', () => {
  let now = 0;
  const sessions = new Sessions(() => now);
  const a = sessions.create('alice');
  const b = sessions.create('alice');
  assert.notEqual(a.id, b.id);
  assert.notEqual(a.session.csrf, b.session.csrf);
  assert.equal(sessions.get(a.id)?.approver, 'alice');
  sessions.end(a.id);
  assert.equal(sessions.get(a.id), undefined);
  now = SESSION_TTL_MS + 1;
  assert.equal(sessions.get(b.id), undefined, 'expired');
  assert.equal(sessions.get(undefined), undefined);
});
