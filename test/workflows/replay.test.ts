import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../../workers/worker';
import { LOCAL_STEPS_PATCH } from '../../workflows/promotion';
import { FEWER_WRITES_PATCH, LOCAL_PROD_SIGN_PATCH, LOCAL_TO_GATE_PATCH } from '../../workflows/version-marker';
import { TRACING_SHAPE_PATCH } from '../../workflows/workflow-tracing';
import { stepsOf } from '../../src/client/history-steps';
import { TEST_KEY_PASSPHRASE } from '../helm/helpers';
import { TEST_PASSWORD } from '../support/env';

const DIR = path.join(__dirname, 'histories');
/** The workflow id each history was recorded under (histories/record.ts writes it). */
const IDS = JSON.parse(fs.readFileSync(path.join(DIR, 'workflow-ids.json'), 'utf8')) as Record<string, string>;
/**
 * Promotions (each ending; one whose evidence pack changed at the gate), a chart release, a key
 * rotation and its ceremony: one per workflow in workflows/. Kept, not re-recorded, because runs
 * those versions started must still replay on this code: `promoted-previous-release`, recorded
 * before evidence-bound votes and fewer state writes, `promoted-queued-steps`, recorded before
 * the short steps became local activities (LOCAL_STEPS_PATCH), the two `-temporal-interceptors`
 * histories, recorded before workflow calls took the fixed tracing shape (TRACING_SHAPE_PATCH), and
 * `promoted-two-markers` and `key-ceremony-tracing-marker`, recorded with those two markers before
 * new runs carried FEWER_WRITES_PATCH alone, and `promoted-fewer-writes`, recorded with that marker
 * before the steps up to the gate became local too (LOCAL_TO_GATE_PATCH). `promoted-until-gate` was
 * started with the waitForGate update riding on the start (startPromotion's `untilGate`): its
 * first workflow task accepts and answers the update, between the plan's markers. Every history
 * but `promoted-local-prod-sign` and the two `-answered` ones was recorded before prod sign became
 * a local step too (LOCAL_PROD_SIGN_PATCH), and replays with prod sign queued.
 * `key-rotation-answered` and `key-ceremony-answered` were waited for as keys ceremony waits: the
 * rotation answers waitForCeremony once it has started its child (startChild, where
 * `key-rotation` ran executeChild: the same commands), the ceremony waitForAnswer.
 */
const NAMES = [
  'promoted',
  'promoted-until-gate',
  'promoted-previous-release',
  'promoted-queued-steps',
  'promoted-temporal-interceptors',
  'verify-rejected',
  'approver-rejected',
  'expired',
  'evidence-changed',
  'chart-released',
  'key-rotation',
  'key-ceremony',
  'key-ceremony-temporal-interceptors',
  'promoted-two-markers',
  'key-ceremony-tracing-marker',
  'promoted-fewer-writes',
  'promoted-local-prod-sign',
  'key-rotation-answered',
  'key-ceremony-answered',
];
/** Recorded before TRACING_SHAPE_PATCH: their calls go through Temporal's OpenTelemetry interceptors. */
const BEFORE_TRACING_SHAPE = new Set(['promoted-previous-release', 'promoted-queued-steps', 'promoted-temporal-interceptors', 'key-ceremony-temporal-interceptors']);
/** Recorded with the tracing shape's own marker (and, for the promotion, LOCAL_STEPS_PATCH's), before FEWER_WRITES_PATCH. */
const BEFORE_FEWER_WRITES = new Set([...BEFORE_TRACING_SHAPE, 'promoted-two-markers', 'key-ceremony-tracing-marker']);
/** Recorded before LOCAL_TO_GATE_PATCH: FEWER_WRITES_PATCH's runs, and those before it. */
const BEFORE_LOCAL_TO_GATE = new Set([...BEFORE_FEWER_WRITES, 'promoted-fewer-writes']);
/** Recorded before LOCAL_PROD_SIGN_PATCH: LOCAL_TO_GATE_PATCH's runs, and those before it. */
const BEFORE_LOCAL_PROD_SIGN = new Set(NAMES.filter((name) => !['promoted-local-prod-sign', 'key-rotation-answered', 'key-ceremony-answered'].includes(name)));
const readHistory = (name: string) => historyFromJSON(JSON.parse(fs.readFileSync(path.join(DIR, `${name}.json`), 'utf8')));
const patchesIn = (name: string) =>
  (readHistory(name).events ?? []).flatMap((e) => {
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_patch') return [];
    return [Buffer.from(marker.details?.['patch-data']?.payloads?.[0]?.data ?? new Uint8Array()).toString('utf8')];
  });

describe('replay of committed histories (determinism guard)', () => {
  for (const name of NAMES) {
    // A worker that traces and one that does not give a run's calls the same shape: each replays every history.
    for (const tracing of [false, true]) {
      it(`replays ${name}.json with the current workflow code, on a worker ${tracing ? 'that traces' : 'without tracing'}`, async () => {
        const history = readHistory(name);
        assert.ok((history.events ?? []).length > 10, 'the history holds a real run');
        await Worker.runReplayHistory({ workflowBundle: await workflowBundle({ tracing }) }, history, IDS[name] ?? `replay-${name}`);
      });
    }
  }

  it('covers both tracing shapes: Temporal\'s interceptors (before TRACING_SHAPE_PATCH) and the fixed one, under either marker', () => {
    for (const name of NAMES) {
      const marked = patchesIn(name).some((p) => [TRACING_SHAPE_PATCH, FEWER_WRITES_PATCH, LOCAL_TO_GATE_PATCH, LOCAL_PROD_SIGN_PATCH].some((id) => p.includes(id)));
      assert.equal(marked, !BEFORE_TRACING_SHAPE.has(name), `${name}: ${marked ? 'has' : 'lacks'} a marker of the fixed tracing shape`);
    }
  });

  it('covers each marker generation: runs started now carry LOCAL_PROD_SIGN_PATCH alone, and write AUTHORIZING with the plan', () => {
    const ids = (name: string) => patchesIn(name).map((p) => (JSON.parse(p) as { id: string }).id);
    for (const name of NAMES) if (!BEFORE_LOCAL_PROD_SIGN.has(name)) assert.deepEqual(ids(name), [LOCAL_PROD_SIGN_PATCH], name);
    for (const name of BEFORE_LOCAL_PROD_SIGN) if (!BEFORE_LOCAL_TO_GATE.has(name)) assert.deepEqual(ids(name), [LOCAL_TO_GATE_PATCH], name);
    assert.deepEqual(ids('promoted-fewer-writes'), [FEWER_WRITES_PATCH]);
    assert.deepEqual(ids('promoted-two-markers'), [TRACING_SHAPE_PATCH, LOCAL_STEPS_PATCH]);
    assert.deepEqual(ids('key-ceremony-tracing-marker'), [TRACING_SHAPE_PATCH]);
    const upserts = (name: string) =>
      (readHistory(name).events ?? []).filter((e) => e.upsertWorkflowSearchAttributesEventAttributes).map((e) => Object.keys(e.upsertWorkflowSearchAttributesEventAttributes!.searchAttributes?.indexedFields ?? {}).sort().join('+'));
    const states = (name: string) =>
      (readHistory(name).events ?? []).flatMap((e) => {
        const state = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.CountersignState?.data;
        return state ? [JSON.parse(Buffer.from(state).toString('utf8'))[0] as string] : [];
      });
    assert.deepEqual(states('promoted-two-markers'), ['AUTHORIZING', 'AWAITING_APPROVAL', 'PROD_SIGNING', 'RELEASING', 'PROMOTED']);
    assert.deepEqual(states('promoted'), ['AUTHORIZING', 'AWAITING_APPROVAL', 'PROD_SIGNING', 'RELEASING', 'PROMOTED']);
    assert.equal(upserts('promoted-two-markers').length, 8);
    for (const name of ['promoted', 'promoted-until-gate', 'promoted-fewer-writes', 'promoted-local-prod-sign']) assert.deepEqual(states(name), ['AUTHORIZING', 'AWAITING_APPROVAL', 'PROD_SIGNING', 'RELEASING', 'PROMOTED'], name);
    assert.deepEqual(upserts('promoted-fewer-writes'), upserts('promoted'), 'the steps up to the gate going local wrote nothing more or less');
    assert.deepEqual(upserts('promoted-local-prod-sign'), upserts('promoted'), 'nor did prod sign going local');
    assert.deepEqual(upserts('promoted'), [
      'TemporalChangeVersion',
      'CountersignDigest+CountersignPlatformKey+CountersignState+CountersignTarget',
      'CountersignState',
      'CountersignState',
      'CountersignState',
      'CountersignState',
    ]);
  });

  it('covers each way a promotion runs its steps: all queued (before LOCAL_STEPS_PATCH), the short ones local, all but prod sign local, all local', () => {
    const stepsIn = (name: string) => stepsOf(historyFromJSON(JSON.parse(fs.readFileSync(path.join(DIR, `${name}.json`), 'utf8'))).events ?? []);
    const named = (name: string) => stepsIn(name).map((s) => `${s.name}${s.local ? ' (local)' : ''}`);
    assert.deepEqual(stepsIn('promoted-queued-steps').filter((s) => s.local), [], 'the kept history queued every step');
    assert.deepEqual(named('promoted-fewer-writes'), ['authorize (local)', 'checkKeys', 'build', 'attestImage', 'devSign', 'platformVerify (local)', 'evidence (local)', 'evidence (local)', 'prodSign', 'release (local)']);
    assert.deepEqual(named('promoted'), ['authorize (local)', 'checkKeys (local)', 'build (local)', 'attestImage (local)', 'devSign (local)', 'platformVerify (local)', 'evidence (local)', 'evidence (local)', 'prodSign', 'release (local)']);
    assert.deepEqual(named('promoted-local-prod-sign'), ['authorize (local)', 'checkKeys (local)', 'build (local)', 'attestImage (local)', 'devSign (local)', 'platformVerify (local)', 'evidence (local)', 'evidence (local)', 'prodSign (local)', 'release (local)']);
    // Two workflow tasks: the first runs to the gate, the second takes the approval and runs prod sign and release.
    const tasks = (name: string) => (readHistory(name).events ?? []).filter((e) => e.workflowTaskCompletedEventAttributes).length;
    assert.equal(tasks('promoted-local-prod-sign'), 2);
    assert.equal(tasks('promoted'), 3);
  });

  it("covers the key workflows' waiting updates: the rotation answered waitForCeremony and the ceremony waitForAnswer (keys ceremony), the histories before them none", () => {
    const updates = (name: string) => (readHistory(name).events ?? []).flatMap((e) => (e.workflowExecutionUpdateAcceptedEventAttributes ? [e.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest?.input?.name] : []));
    assert.deepEqual(updates('key-rotation-answered'), ['waitForCeremony']);
    assert.deepEqual(updates('key-ceremony-answered').filter((n) => n !== 'decide'), ['waitForAnswer']);
    assert.deepEqual([updates('key-rotation'), updates('key-ceremony').filter((n) => n !== 'decide')], [[], []]);
  });

  it('fails replay when the history does not match the code', async () => {
    const json = JSON.parse(fs.readFileSync(path.join(DIR, 'promoted.json'), 'utf8'));
    // Swap the first queued activity's type: the code schedules "prodSign", the history now says otherwise.
    const scheduled = json.events.find((e: any) => e.activityTaskScheduledEventAttributes);
    scheduled.activityTaskScheduledEventAttributes.activityType.name = 'somethingElse';
    await assert.rejects(Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, historyFromJSON(json), 'replay-tampered'), /Nondeterminism|DeterminismViolation|nondetermin/i);
  });
});

describe('what histories hold', () => {
  it('never a private key or a passphrase (invariant 3)', () => {
    for (const name of NAMES) {
      const text = fs.readFileSync(path.join(DIR, `${name}.json`), 'utf8');
      const json = JSON.parse(text);
      const decoded: string[] = [];
      const walk = (node: unknown): void => {
        if (Array.isArray(node)) node.forEach(walk);
        else if (node && typeof node === 'object') {
          for (const [key, value] of Object.entries(node)) {
            if (key === 'data' && typeof value === 'string') decoded.push(Buffer.from(value, 'base64').toString('utf8'));
            else walk(value);
          }
        }
      };
      walk(json);
      // A rotation's history holds its input (the store's name and the signed request), its child's result, no roster.
      const marker = name.startsWith('key-rotation') ? 'https://countersign.dev/ceremony-request/v1' : 'BEGIN PUBLIC KEY';
      assert.ok(decoded.some((d) => d.includes(marker)), `${name}: payloads were decoded (${marker} is in them)`);
      for (const haystack of [text, ...decoded]) {
        assert.ok(!haystack.includes(TEST_PASSWORD), `${name} contains the key passphrase`);
        assert.ok(!haystack.includes(TEST_KEY_PASSPHRASE), `${name} contains the OpenPGP key passphrase`);
        assert.ok(!/PRIVATE KEY/.test(haystack), `${name} contains a private key`);
      }
    }
  });
});
