import { runWorker } from '../../../workers/main';
import { EXIT, type Command } from '../command';
import { configFile, temporalAddress } from '../context';

export const workerCommand: Command = {
  name: 'worker',
  summary: 'run a countersign worker in the foreground (Ctrl-C to stop)',
  usage: 'countersign worker [--config FILE] [--address HOST:PORT] [--namespace NS]',
  options: {},
  optionHelp: {},
  details:
    'The worker reads its own configuration (--config, $COUNTERSIGN_CONFIG or ./countersign.yaml) and checks every start request and vote against it; it refuses to start when the file has any problem. ' +
    'Key passphrases come from the environment variables the targets name (COUNTERSIGN_DEV_KEY_PASSWORD, COUNTERSIGN_PLATFORM_KEY_PASSWORD by default). ' +
    'TLS/mTLS to Temporal: TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT + TEMPORAL_TLS_KEY, TEMPORAL_TLS_SERVER_NAME, or the temporal: section of $COUNTERSIGN_CONFIG (docs/deploy.md). ' +
    'COUNTERSIGN_MAX_CACHED_WORKFLOWS caps the workflows kept in memory (default 100; 0 turns the cache off; see docs/benchmarks.md for what parked promotions cost). ' +
    "COUNTERSIGN_WORKFLOW_STACK_TRACES=1 keeps the SDK's workflow stack traces (the Temporal UI's stack trace tab, `temporal workflow stack`), off by default for their CPU cost (docs/operations.md).",
  async run(args, io) {
    const env = {
      ...io.env,
      TEMPORAL_ADDRESS: temporalAddress(args, io.env),
      TEMPORAL_NAMESPACE: (args.values.namespace as string | undefined) ?? io.env.TEMPORAL_NAMESPACE ?? 'default',
      COUNTERSIGN_CONFIG: configFile(args, io.env),
    };
    await runWorker(env);
    return EXIT.ok;
  },
};
