import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateQuorum, quorumReachable } from '../../src/approval/quorum';

const platform = { name: 'platform', members: ['alice', 'bob', 'carol'], required: 2 };
const security = { name: 'security', members: ['carol', 'dave'], required: 1 };

describe('quorum arithmetic', () => {
  it('needs every group filled: 2 of platform and 1 of security', () => {
    assert.equal(evaluateQuorum([platform, security], ['alice']).met, false);
    assert.equal(evaluateQuorum([platform, security], ['alice', 'bob']).met, false);
    const met = evaluateQuorum([platform, security], ['alice', 'bob', 'dave']);
    assert.equal(met.met, true);
    assert.deepEqual(met.have, { platform: 2, security: 1 });
  });

  it('counts a person once even when they sit in two groups', () => {
    const r = evaluateQuorum([platform, security], ['alice', 'carol']);
    assert.equal(r.met, false, 'carol cannot fill a platform seat and the security seat at once');
    assert.equal(r.have.platform + r.have.security, 2);
  });

  it('finds the assignment a greedy pass would miss', () => {
    // carol approves first; greedy would seat her in platform and leave security empty when
    // alice and bob fill platform. The matching moves carol to security.
    const r = evaluateQuorum([platform, security], ['carol', 'alice', 'bob']);
    assert.equal(r.met, true);
    assert.equal(r.assignment.carol, 'security');
    assert.deepEqual(new Set([r.assignment.alice, r.assignment.bob]), new Set(['platform']));
  });

  it('ignores approvals from people in no group and duplicates', () => {
    const r = evaluateQuorum([security], ['mallory', 'dave', 'dave']);
    assert.equal(r.met, true);
    assert.equal(r.assignment.mallory, undefined);
  });

  it('knows when the quorum can no longer be met', () => {
    assert.equal(quorumReachable([platform, security], ['alice'], ['bob', 'dave']), true);
    assert.equal(quorumReachable([platform, security], ['alice'], ['bob']), false, 'nobody left for security');
    assert.equal(quorumReachable([platform, security], [], ['carol', 'dave']), false, 'only one platform member left');
  });
});
