/**
 * readStartRequestClaim: what a start request says it is for, read before the worker checks it,
 * for the status a run shows while it is authorised (and the nonce a caller compares with its own).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readStartRequestClaim } from '../../src/requests/claim';

const statement = (fields: Record<string, unknown>) => ({ statement: JSON.stringify(fields), signature: 'ignored here' });

describe('readStartRequestClaim', () => {
  it('reads the target, digest and nonce the statement claims', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.deepEqual(readStartRequestClaim(statement({ target: 'prod', digest, nonce: 'f3ef47bce3caadb99fcb6ae36ce2278e' })), { target: 'prod', digest, nonce: 'f3ef47bce3caadb99fcb6ae36ce2278e' });
  });

  it('leaves out what is missing, not a string, or longer than 128 characters', () => {
    assert.deepEqual(readStartRequestClaim(statement({ target: 'prod', nonce: 42 })), { target: 'prod', digest: '', nonce: '' });
    assert.deepEqual(readStartRequestClaim(statement({ target: 'x'.repeat(129), digest: 'd', nonce: 'n'.repeat(129) })), { target: '', digest: 'd', nonce: '' });
  });

  it('reads nothing from a statement that is not JSON, too large, or absent', () => {
    const none = { target: '', digest: '', nonce: '' };
    assert.deepEqual(readStartRequestClaim({ statement: '{not json' }), none);
    assert.deepEqual(readStartRequestClaim({ statement: JSON.stringify({ target: 'prod', pad: 'p'.repeat(16 * 1024) }) }), none);
    assert.deepEqual(readStartRequestClaim({ statement: 7 }), none);
    assert.deepEqual(readStartRequestClaim(undefined), none);
    assert.deepEqual(readStartRequestClaim(statement({ target: 'prod' }).statement), none, 'a bare string is not a signed request');
  });
});
