import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { describe, it } from 'node:test';
import { writeFile } from 'node:fs/promises';
import YAML from 'yaml';
import { canonicalJson } from '../../src/requests/statement';
import { assert as signAssertion, newCredential } from '../support/software-authenticator';
import { COMMIT } from '../support/env';
import { NEXT_COMMIT, XSS_REF, useConsoleFixture } from './support';

async function get(url: string): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

describe('approval console over HTTP, on the real stack', () => {
  const f = useConsoleFixture();

  it('lists the promotion parked at the gate with its group, deadline and votes, and not the promoted one', async () => {
    const page = await get(`${f.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.text, new RegExp(`href="/promotions/${f.parked.promotionId}"`));
    assert.match(page.text, /approvers: 0 of 2 \(2 missing\)/);
    assert.match(page.text, /none yet/);
    assert.doesNotMatch(page.text, new RegExp(f.released.promotionId));
  });

  it("shows the evidence pack: artifact, every check, provenance beside the release's, SBOM changes, the policy and the pack's digest", async () => {
    const page = await get(`${f.url}/promotions/${f.parked.promotionId}`);
    assert.equal(page.status, 200, page.text);
    assert.ok(page.text.includes(f.parked.digest), 'the digest');
    for (const check of ['developerSignature', 'provenanceAttestation', 'sbomAttestation', 'policy.sourceRepo', 'policy.commit']) assert.ok(page.text.includes(check), check);
    assert.match(page.text, new RegExp(`<tr data-fact="commit" class="changed"><th>commit</th><td>${NEXT_COMMIT}</td><td>${COMMIT}</td></tr>`));
    assert.ok(page.text.includes(f.released.digest), "the release's digest");
    assert.ok(page.text.includes('<li class="added">file added: ./CHANGELOG</li>'));
    assert.ok(page.text.includes('<li class="changed">file changed: ./index.html</li>'));
    assert.ok(page.text.includes(`: ${f.released.digest} → ${f.parked.digest}</li>`), "the image package's version, release to this");

    const json = (await (await fetch(`${f.url}/promotions/${f.parked.promotionId}/evidence.json`)).json()) as { digest: string; pack: Record<string, any> };
    assert.equal(json.digest, `sha256:${createHash('sha256').update(canonicalJson(json.pack)).digest('hex')}`);
    assert.ok(page.text.includes(`<code id="pack-digest">${json.digest}</code>`));
    assert.ok(page.text.includes(json.pack.policy.digest), 'the policy digest');
    assert.deepEqual(json.pack.policy.approval.groups, [{ name: 'approvers', members: ['alice', 'bob', 'carol'], required: 2 }]);
    // Nothing of the worker's own: key files, passphrase variables, the configuration's path.
    for (const secretish of ['dev.key', 'platform.key', 'PASSWORD', 'countersign.yaml']) assert.ok(!page.text.includes(secretish) && !JSON.stringify(json).includes(secretish), secretish);
  });

  it('attack: a claimed ref carrying markup is shown as text, and the page allows no inline script', async () => {
    const page = await get(`${f.url}/promotions/${f.parked.promotionId}`);
    assert.ok(!page.text.includes('<script>window'), 'no script element from the ref');
    assert.ok(!page.text.includes('<img src=x'), 'no img element from the ref');
    assert.ok(page.text.includes('&#60;script&#62;window.__pwned&#61;&#39;script&#39;&#60;/script&#62;'), 'the ref, escaped');
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.equal(XSS_REF.includes('<script>'), true);
  });

  it('a vote arriving ends the page event stream with a change', async () => {
    const page = await get(`${f.url}/promotions/${f.parked.promotionId}`);
    const watch = /data-watch="([^"]+)"/.exec(page.text)![1].replace(/&#61;/g, '=');
    const stream = await fetch(`${f.url}${watch}`);
    assert.equal(stream.headers.get('content-type'), 'text/event-stream');
    const body = stream.text();
    await f.env.decideAs(f.parked.promotionId, 'bob', 'approve', 'looked at the SBOM');
    assert.match(await body, /event: change/);
    const after = await get(`${f.url}/promotions/${f.parked.promotionId}`);
    assert.match(after.text, /<tr class="vote approve"><td>bob<\/td><td>approve<\/td><td>looked at the SBOM<\/td>/);
  });

  it('docs/approvals.md: `countersign console` as printed serves on 127.0.0.1:8090, behind a passkey login from the roster, until SIGTERM', async () => {
    const bin = path.resolve(__dirname, '../../bin/countersign');
    const origin = 'http://localhost:8090';
    const alice = newCredential();
    // The configuration file alone: console.origin and an inline passkey are all the console reads of it.
    const config = path.join(f.env.dir, 'console-only.yaml');
    await writeFile(config, YAML.stringify({ console: { origin }, approvers: { alice: { passkeys: [{ id: alice.id, publicKey: alice.publicKeyPem }] } } }));
    // With the Temporal Web UI's address known, each evidence page links to the run's history there.
    const env = { ...process.env, TEMPORAL_ADDRESS: f.env.stack.temporal.address, TEMPORAL_UI_URL: 'http://ui.example:8233/', COUNTERSIGN_CONFIG: config };
    const child = spawn(bin, ['console'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d) => {
          out += String(d);
          const m = /countersign console: (http:\/\/\S+) \(passkey login; approvers open http:\/\/localhost:8090\)/.exec(out);
          if (m) resolve(m[1]);
        });
        child.stderr.on('data', (d) => (out += String(d)));
        child.once('exit', (code) => reject(new Error(`console exited ${code}: ${out}`)));
      });
      assert.equal(url, 'http://127.0.0.1:8090');
      const anonymous = await fetch(`${url}/`, { redirect: 'manual' });
      assert.equal(anonymous.status, 303);
      assert.equal(anonymous.headers.get('location'), '/login');
      const post = (p: string, body: unknown) => fetch(`${url}${p}`, { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const { challenge } = (await (await post('/login/options', {})).json()) as { challenge: string };
      const login = await post('/login', { response: signAssertion(alice, { challenge, origin, rpId: 'localhost' }) });
      assert.equal(login.status, 200, await login.clone().text());
      const cookie = String(login.headers.get('set-cookie')).split(';')[0];
      const get = async (p: string) => (await fetch(`${url}${p}`, { headers: { cookie } })).text();
      assert.ok((await get('/')).includes(f.parked.promotionId));
      const evidence = await get(`/promotions/${f.parked.promotionId}`);
      assert.ok(evidence.includes(`<a id="temporal-ui" href="http://ui.example:8233/namespaces/default/workflows/${f.parked.promotionId}">`), evidence.slice(0, 2000));
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('countersign evidence prints the same pack and digest as the console, and says 3 for an unknown id', async () => {
    const bin = path.resolve(__dirname, '../../bin/countersign');
    const env = { ...process.env, TEMPORAL_ADDRESS: f.env.stack.temporal.address };
    // Not spawnSync: the worker answering the CLI's query runs in this process.
    const run = (...args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(bin, args, { env, encoding: 'utf8' }, (err, stdout, stderr) => resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
      });
    const fromConsole = (await (await fetch(`${f.url}/promotions/${f.parked.promotionId}/evidence.json`)).json()) as { digest: string };
    const json = await run('evidence', f.parked.promotionId, '--json');
    assert.equal(json.status, 0, json.stderr);
    assert.equal((JSON.parse(json.stdout) as { digest: string }).digest, fromConsole.digest);
    const text = await run('evidence', f.parked.promotionId);
    assert.equal(text.status, 0, text.stderr);
    assert.ok(text.stdout.startsWith(`evidence pack ${fromConsole.digest}\n`), text.stdout);
    assert.match(text.stdout, new RegExp(`^artifact     .*@${f.parked.digest} \\(directory\\)$`, 'm'));
    assert.match(text.stdout, /^checks       \d+ passed, 0 failed$/m);
    const unknown = await run('evidence', 'promote-prod-0000000000000000');
    assert.equal(unknown.status, 3, unknown.stderr);
    assert.match(unknown.stderr, /UNKNOWN_PROMOTION/);
    assert.equal((await run('evidence', 'not-an-id')).status, 2);
  });

  it('refuses ids that are not promotion ids (400) and answers unknown ones with 404', async () => {
    assert.equal((await get(`${f.url}/promotions/..%2F..%2Fetc`)).status, 400);
    assert.equal((await get(`${f.url}/promotions/promote-prod-0123456789abcdef`)).status, 404);
  });
});
