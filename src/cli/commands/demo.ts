import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import YAML from 'yaml';
import { signAndDecide, startPromotion, waitForPromotionEnd } from '../../client/promotions';
import { loadConfig } from '../../config';
import { FileSigner, writeKeyPair } from '../../keys/file-signer';
import { startEmbeddedStack } from '../../stack/embedded';
import { locateTool } from '../../stack/tools';
import { createWorker } from '../../../workers/worker';
import { APPROVAL_PREDICATE_TYPE } from '../../approval/constants';
import { EXIT, printJson, write, type Command } from '../command';
import { countersignHome } from '../context';
import { renderStatus } from '../render';
import { exitCodeFor, progressPrinter } from './promotions';

export const DEMO_PASSWORD = 'countersign-demo-only';
const DEMO_APPROVER = 'platform-lead';
/** The CI identity that signs the demo's start request. */
const DEMO_INITIATOR = 'release-bot';
const EXAMPLE_DIR = path.resolve(__dirname, '../../../examples/hello');

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run a full promotion on a fresh embedded stack and verify the result',
  usage: 'countersign demo [--data-dir DIR] [--dir DIR]',
  options: { 'data-dir': { type: 'string' }, dir: { type: 'string' } },
  optionHelp: {
    'data-dir': 'where the demo keeps its stack state, keys and config (default $COUNTERSIGN_HOME/demo)',
    dir: 'directory to build and promote (default examples/hello)',
  },
  details:
    'Starts Temporal (SQLite under the data dir), a registry and a worker; generates demo keys (passphrase "countersign-demo-only", for the demo only); builds, attests, signs, verifies, approves with a statement signed by "platform-lead", production-signs and releases; then prints and, when cosign is installed, runs the customer\'s verify command. Exit code 0 only if every step passed.',
  async run(args, io) {
    const dataDir = path.resolve((args.values['data-dir'] as string | undefined) ?? path.join(countersignHome(io.env), 'demo'));
    const sourceDir = path.resolve((args.values.dir as string | undefined) ?? EXAMPLE_DIR);
    const json = Boolean(args.values.json);
    const say = (text: string) => {
      if (!json) write(io.stderr, text);
    };

    say(`starting the embedded stack in ${dataDir}`);
    const stack = await startEmbeddedStack({ dataDir });
    say(`  temporal ${stack.temporal.address}, registry ${stack.registry.address}`);
    const keysDir = path.join(dataDir, 'keys');
    for (const prefix of ['developer', 'platform', DEMO_APPROVER, 'security-lead', DEMO_INITIATOR]) {
      if (!fs.existsSync(path.join(keysDir, `${prefix}.key`))) await writeKeyPair(keysDir, prefix, DEMO_PASSWORD);
    }
    const configFile = path.join(dataDir, 'countersign.yaml');
    fs.writeFileSync(configFile, YAML.stringify(demoConfig(stack.registry.address, sourceDir)));
    // The worker owns the configuration; the demo only names the target and signs its request.
    const config = loadConfig(configFile);

    const workerEnv = { ...io.env, COUNTERSIGN_DEV_KEY_PASSWORD: DEMO_PASSWORD, COUNTERSIGN_PLATFORM_KEY_PASSWORD: DEMO_PASSWORD };
    const { worker, close: closeWorker } = await createWorker({ address: stack.temporal.address, env: workerEnv, config });
    const workerRun = worker.run();
    const connection = await Connection.connect({ address: stack.temporal.address });
    const client = new Client({ connection });
    try {
      const started = await startPromotion(client, {
        target: 'production',
        source: { directory: sourceDir },
        build: {
          sourceRepo: 'https://github.com/countersign/hello',
          commit: '9f00e1c4b2a7d6e5f4c3b2a1908f7e6d5c4b3a29',
          buildCommand: 'countersign build examples/hello',
          builderId: 'https://countersign.dev/builders/local@v1',
        },
        initiator: DEMO_INITIATOR,
        signer: await FileSigner.load(path.join(keysDir, `${DEMO_INITIATOR}.key`), DEMO_PASSWORD),
      }, { untilGate: true });
      say(`promotion ${started.promotionId}${started.attached ? ' (attached to the running one)' : ''}, start request signed by ${DEMO_INITIATOR}\n  image digest ${started.digest}`);
      const progress = progressPrinter(io, json);
      // The start's answer comes at the gate (or the run's end), and the end when it comes: no polling.
      const gate = started.gate;
      progress(gate);
      if (gate.state === 'AWAITING_APPROVAL') {
        say(`approving as ${DEMO_APPROVER}`);
        const signer = await FileSigner.load(path.join(keysDir, `${DEMO_APPROVER}.key`), DEMO_PASSWORD);
        await signAndDecide(client, started.promotionId, { approver: DEMO_APPROVER, decision: 'approve', reason: 'demo: provenance and signatures checked', signer, view: gate.approval });
      }
      const final = await waitForPromotionEnd(client, started.promotionId, { onUpdate: progress });
      const imageRef = `${final.repository}@${final.digest}`;
      const platformPub = path.join(keysDir, 'platform.pub');
      const checks = [
        { what: 'production signature', args: ['verify', '--key', platformPub, '--insecure-ignore-tlog=true', imageRef] },
        {
          what: 'approval record',
          args: ['verify-attestation', '--key', platformPub, '--insecure-ignore-tlog=true', '--type', APPROVAL_PREDICATE_TYPE, imageRef],
        },
      ];
      const verifyCommand = `cosign ${checks[0].args.join(' ')}`;
      let cosignResult: 'passed' | 'failed' | 'not installed' | 'not run' = 'not run';
      if (final.state === 'PROMOTED') {
        const cosign = locateTool('cosign', io.env);
        if (cosign) {
          cosignResult = 'passed';
          for (const check of checks) {
            const run = spawnSync(cosign, check.args, { encoding: 'utf8', env: { ...io.env, COSIGN_PASSWORD: '' } });
            if (run.status !== 0) {
              cosignResult = 'failed';
              say(`cosign ${check.args[0]} (${check.what}) failed:\n${run.stderr}${run.stdout}`);
            }
          }
        } else cosignResult = 'not installed';
      }
      if (json) printJson(io, { ...final, verifyCommand, cosignVerify: cosignResult });
      else {
        write(io.stdout, renderStatus(final));
        write(io.stdout, `\nA customer verifies the production signature and the approval record with stock cosign:\n${checks.map((c) => `  cosign ${c.args.join(' ')}`).join('\n')}`);
        write(io.stdout, `cosign verify: ${cosignResult}${cosignResult === 'not installed' ? ' (npm run toolchain installs it)' : ''}`);
      }
      const code = exitCodeFor(final);
      if (code !== EXIT.ok) return code;
      return cosignResult === 'failed' ? EXIT.failed : EXIT.ok;
    } finally {
      worker.shutdown();
      await workerRun.catch(() => undefined);
      await closeWorker();
      await connection.close();
      await stack.stop();
    }
  },
};

function demoConfig(registry: string, sourceDir: string) {
  return {
    registry,
    initiators: { [DEMO_INITIATOR]: { publicKey: `keys/${DEMO_INITIATOR}.pub`, targets: ['production'] } },
    keys: {
      developer: { key: 'keys/developer.key', publicKey: 'keys/developer.pub', passwordEnv: 'COUNTERSIGN_DEV_KEY_PASSWORD' },
      platform: { key: 'keys/platform.key', publicKey: 'keys/platform.pub', passwordEnv: 'COUNTERSIGN_PLATFORM_KEY_PASSWORD' },
    },
    approvers: {
      [DEMO_APPROVER]: { publicKey: `keys/${DEMO_APPROVER}.pub` },
      'security-lead': { publicKey: 'keys/security-lead.pub' },
    },
    targets: {
      production: {
        repository: 'apps/hello',
        releaseTag: 'prod',
        sources: [sourceDir],
        policy: {
          sourceRepo: 'https://github.com/countersign/hello',
          builderIds: ['https://countersign.dev/builders/local@v1'],
          buildCommand: 'countersign build examples/hello',
          requireCommit: true,
        },
        approval: { approvers: [DEMO_APPROVER, 'security-lead'], required: 1, deadline: '10m' },
      },
    },
  };
}
