/**
 * Revocation finds what a key signed from the CountersignState search attribute alone
 * (src/client/pinned-runs.ts): every state it reads must be one a promotion writes. A state left
 * out of the writes to save a visibility update (workflows/promotion-messages.ts UNLISTED_STATES,
 * UNLISTED_SINCE_FEWER_WRITES) would make a signed image's promotion vanish from, or be
 * misfiled in, a revocation listing. This is how leaving out RELEASING would have been caught.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AT_OR_PAST_PROD_SIGN } from '../../src/client/pinned-runs';
import { BEFORE_GATE_STATES, UNLISTED_SINCE_FEWER_WRITES, UNLISTED_STATES } from '../../workflows/promotion-messages';

test('every state revocation reads from visibility is written by promotions, old and new', () => {
  const unwritten = new Set<string>([...UNLISTED_STATES, ...UNLISTED_SINCE_FEWER_WRITES]);
  assert.deepEqual(AT_OR_PAST_PROD_SIGN.filter((state) => unwritten.has(state)), []);
  assert.ok(AT_OR_PAST_PROD_SIGN.includes('RELEASING'), 'a running promotion at release is counted as signed');
});

test('the states left unwritten are all before the gate: a listing by state can only lag, never skip the gate or a signature', () => {
  for (const state of [...UNLISTED_STATES, ...UNLISTED_SINCE_FEWER_WRITES]) assert.ok(BEFORE_GATE_STATES.includes(state), `${state} is before the gate`);
});
