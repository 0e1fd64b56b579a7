import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { pinRoster } from '../../src/approval/roster';
import { FileSigner, writeKeyPair } from '../../src/keys/file-signer';
import { canonicalCeremonyRequest, CEREMONY_REQUEST_TYPE, ceremonyRequestProblem, type CeremonyRequest, type RequestContext, type SignedCeremonyRequest } from '../../workflows/ceremony-request';

const PLAN = `sha256:${'1'.repeat(64)}`;
const RUN = 'key-rotation-platform-2026-11-22T00:00:00Z';

describe('ceremony request (the check a key ceremony makes before asking custodians)', () => {
  let erin: FileSigner;
  let dave: FileSigner;
  let ctx: RequestContext;

  before(async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-request-'));
    for (const who of ['erin', 'dave']) await writeKeyPair(dir, who, 'pw');
    erin = await FileSigner.load(path.join(dir, 'erin.key'), 'pw');
    dave = await FileSigner.load(path.join(dir, 'dave.key'), 'pw');
    const governance = await pinRoster({ erin: { publicKey: path.join(dir, 'erin.pub'), identities: [], signingKeys: [] } });
    ctx = { trust: 'platform', planDigest: PLAN, initiator: 'erin', governance, runId: RUN, now: Date.parse('2026-11-22T00:10:00Z') };
  });

  const request = (over: Partial<CeremonyRequest> = {}): CeremonyRequest => ({ _type: CEREMONY_REQUEST_TYPE, trust: 'platform', planDigest: PLAN, initiator: 'erin', scope: `rotation:${RUN}`, time: '2026-11-22T00:00:00.000Z', ...over });
  const sign = async (r: CeremonyRequest, signer: FileSigner = erin): Promise<SignedCeremonyRequest> => {
    const statement = canonicalCeremonyRequest(r);
    return { statement, signature: (await signer.sign(Buffer.from(statement, 'utf8'))).toString('base64') };
  };

  it("accepts the initiator's request for this run, and a schedule's request for each of its runs", async () => {
    assert.equal(ceremonyRequestProblem(await sign(request()), ctx), undefined);
    // A schedule's request authorises every run, months later too.
    const forSchedule = await sign(request({ scope: 'schedule:key-rotation-platform', time: '2026-01-01T00:00:00.000Z' }));
    assert.equal(ceremonyRequestProblem(forSchedule, { ...ctx, runId: 'key-rotation-platform-2027-02-20T00:00:00Z' }), undefined);
    assert.match(ceremonyRequestProblem(forSchedule, { ...ctx, runId: 'key-rotation-platformx-2027' }) ?? '', /not for run/);
  });

  const refusals: Array<[string, () => Promise<SignedCeremonyRequest | undefined>, RegExp]> = [
    ['no request at all', async () => undefined, /^no signed ceremony request$/],
    ['signed by another key', () => sign(request(), dave), /signature does not verify with erin's roster key/],
    ['edited after signing', async () => {
      const signed = await sign(request());
      return { ...signed, statement: signed.statement.replace('"trust":"platform"', '"trust":"platform" ') };
    }, /signature does not verify/],
    ['for another run (replayed)', () => sign(request({ scope: 'rotation:key-rotation-platform-2026-01-01T00:00:00Z' })), /is for rotation:key-rotation-platform-2026-01-01T00:00:00Z, not for run/],
    ['for another plan', () => sign(request({ planDigest: `sha256:${'2'.repeat(64)}` })), /is for plan sha256:2+, not this ceremony's/],
    ['for another trust store', () => sign(request({ trust: 'helm' })), /is for trust store helm, not platform/],
    ['by someone the ceremony does not name', () => sign(request({ initiator: 'dave' })), /made by dave, but the ceremony names erin/],
    ['of another type', () => sign({ ...request(), _type: 'https://example.com/other' as never }), /has type https:\/\/example.com\/other/],
    ['not JSON', async () => ({ statement: 'nope', signature: 'AAAA' }), /not JSON/],
    ['signed more than a day before the run (replayed on a reused id)', () => sign(request({ time: '2026-11-20T00:00:00.000Z' })), /signed at 2026-11-20T00:00:00.000Z, more than 24 hours before this ceremony started/],
    ['dated after the run started', () => sign(request({ time: '2026-11-22T01:00:00.000Z' })), /dated 2026-11-22T01:00:00.000Z, after this ceremony started/],
  ];
  for (const [name, make, expected] of refusals) {
    it(`refuses a request ${name}`, async () => {
      assert.match(ceremonyRequestProblem(await make(), ctx) ?? 'accepted', expected);
    });
  }

  it('refuses an initiator who is not a governance member, even with a valid signature', async () => {
    const problem = ceremonyRequestProblem(await sign(request({ initiator: 'dave' }), dave), { ...ctx, initiator: 'dave' });
    assert.match(problem ?? 'accepted', /dave is not a governance member of trust store platform \(erin\)/);
  });
});
