import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envFlag } from '../src/env-flag';
import { hasCode } from '../src/errors';

describe('envFlag', () => {
  it('reads on and off in any case, spaces around ignored', () => {
    for (const on of ['1', 'true', 'TRUE', 'on', ' On ', 'yes']) assert.equal(envFlag({ F: on }, 'F'), true, on);
    for (const off of ['0', 'false', 'False', 'off', ' OFF', 'no']) assert.equal(envFlag({ F: off }, 'F'), false, off);
  });

  it('leaves unset and blank to the caller', () => {
    assert.equal(envFlag({}, 'F'), undefined);
    assert.equal(envFlag({ F: '' }, 'F'), undefined);
    assert.equal(envFlag({ F: '  ' }, 'F'), undefined);
  });

  it('refuses anything else by name and value, with the code asked for (BAD_CONFIG unless told)', () => {
    for (const bad of ['2', 'enable', 'truee', 'y', 'yes please', '-1']) {
      assert.throws(() => envFlag({ F: bad }, 'F'), (e: Error) => hasCode(e, 'BAD_CONFIG') && e.message.includes(`F: "${bad}" is neither on nor off`), bad);
    }
    assert.throws(() => envFlag({ F: 'maybe' }, 'F', 'BAD_INPUT'), (e: Error) => hasCode(e, 'BAD_INPUT'));
  });
});
