/**
 * `status` links to the run in the real Temporal Web UI (the dev server's), when the reader's UI
 * address is known, and the UI answers for that very run.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { waitForPromotion } from '../../src/client/promotions';
import { temporalUiUrl, workflowUiLink } from '../../src/temporal/ui-link';
import { hasCode } from '../../src/errors';
import { runCli } from '../support/cli';
import { buildFacts, useTestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');

describe('Temporal Web UI links', () => {
  const env = useTestEnv({ ui: true });

  it('status prints the run in the Web UI from TEMPORAL_UI_URL, and the UI serves that run', async () => {
    const started = await env.promote({ source: { directory: HELLO }, build: buildFacts() });
    await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    const ui = env.stack.temporal.uiUrl!;
    const cliEnv = { TEMPORAL_ADDRESS: env.stack.temporal.address, TEMPORAL_UI_URL: `${ui}/`, COUNTERSIGN_HOME: path.join(env.dir, 'home') };
    const human = await runCli(['status', started.promotionId], cliEnv);
    assert.equal(human.code, 0, human.stderr);
    const { runId } = await env.client.workflow.getHandle(started.promotionId).describe();
    const link = `${ui}/namespaces/default/workflows/${started.promotionId}/${runId}/history`;
    assert.match(human.stdout, new RegExp(`^  temporal:   ${link.replace(/[.?/]/g, '\\$&')}$`, 'm'));
    const json = JSON.parse((await runCli(['status', started.promotionId, '--json'], cliEnv)).stdout);
    assert.equal(json.temporalUi, link);

    // The page is the UI's, and the UI's own API (what the page reads) knows the run.
    const page = await fetch(link);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    const api = await fetch(`${ui}/api/v1/namespaces/default/workflows/${started.promotionId}?execution.runId=${runId}`);
    assert.equal(api.status, 200, await api.clone().text());
    const described = (await api.json()) as { workflowExecutionInfo?: { execution?: { workflowId?: string; runId?: string } } };
    assert.deepEqual(described.workflowExecutionInfo?.execution, { workflowId: started.promotionId, runId });
  });

  it('on the dev stack the link comes from its state file; talking to another Temporal, or with no UI known, there is none', async () => {
    const started = await env.promote({ source: { directory: HELLO }, build: buildFacts({ commit: 'b'.repeat(40) }) });
    const home = path.join(env.dir, 'dev-home');
    await fs.mkdir(path.join(home, 'dev'), { recursive: true });
    const state = { dataDir: path.join(home, 'dev'), temporal: { address: env.stack.temporal.address, uiUrl: env.stack.temporal.uiUrl, pid: 1 }, registry: { address: env.stack.registry.address, pid: 1 }, startedAt: new Date().toISOString() };
    await fs.writeFile(path.join(home, 'dev', 'stack.json'), JSON.stringify(state));
    const dev = await runCli(['status', started.promotionId], { COUNTERSIGN_HOME: home });
    assert.match(dev.stdout, new RegExp(`temporal:   ${env.stack.temporal.uiUrl}/namespaces/default/workflows/${started.promotionId}/`));

    const elsewhere = await runCli(['status', started.promotionId, '--address', env.stack.temporal.address.replace('127.0.0.1', 'localhost')], { COUNTERSIGN_HOME: home });
    assert.equal(elsewhere.code, 0, elsewhere.stderr);
    assert.doesNotMatch(elsewhere.stdout, /temporal: /);
    const none = await runCli(['status', started.promotionId, '--json'], { TEMPORAL_ADDRESS: env.stack.temporal.address, COUNTERSIGN_HOME: path.join(env.dir, 'empty-home') });
    assert.equal(JSON.parse(none.stdout).temporalUi, undefined);
  });

  it('a workflow id and namespace are escaped into the path; a UI address that is not plain http(s) is refused', () => {
    assert.equal(workflowUiLink('https://ui.example', 'team a', 'promote-x/../y?z', 'r1'), 'https://ui.example/namespaces/team%20a/workflows/promote-x%2F..%2Fy%3Fz/r1/history');
    assert.equal(workflowUiLink('https://ui.example', 'default', 'w'), 'https://ui.example/namespaces/default/workflows/w');
    assert.equal(temporalUiUrl({ TEMPORAL_UI_URL: 'https://ui.example/temporal/' }), 'https://ui.example/temporal');
    assert.equal(temporalUiUrl({}, 'http://127.0.0.1:8233'), 'http://127.0.0.1:8233');
    assert.equal(temporalUiUrl({}), undefined);
    for (const bad of ['javascript:alert(1)', 'ui.example', 'https://u:p@ui.example', 'https://ui.example/?a=b', 'file:///etc/passwd']) {
      assert.throws(() => temporalUiUrl({ TEMPORAL_UI_URL: bad }), (err) => hasCode(err, 'BAD_INPUT') && String(err).includes('TEMPORAL_UI_URL'), bad);
    }
  });
});
