#!/usr/bin/env node
import { ConfigError, loadConfig } from '@vcu/config';
import { createLogger, describeError } from '@vcu/logger';
import { printable } from '@vcu/files';
import { connect } from '@vcu/runtime';
import { createS3Client } from '@vcu/storage';
import { type CliDeps, restore, retryFailed, status, verify } from './commands.js';
import { UsageError } from './resolve.js';

const USAGE = `usage: vcu <command>
  status [--watch]                         every stream and its progress (--watch: refresh every second)
  verify <file-or-stream-id>               check every chunk in S3 against metadata.json and the local file
  restore <stream-id-or-path> <out-file>   rebuild a file from S3, verified
  retry-failed                             move failed jobs back to the queue
Settings come from the same environment variables as the apps (see README).`;

// the SDK's notice that its 2027 releases need Node 22 is for operators of the services, not
// for every command line
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === '--help' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  const known = { status: 0, verify: 1, restore: 2, 'retry-failed': 0 } as Record<string, number>;
  const arity = known[command];
  if (arity === undefined) throw new UsageError(`unknown command "${printable(command)}"\n${USAGE}`);
  if (args.filter((a) => !a.startsWith('--')).length !== arity) throw new UsageError(`"${command}" takes ${arity} argument${arity === 1 ? '' : 's'}\n${USAGE}`);

  const config = loadConfig(process.env, { app: 'cli' });
  // the CLI speaks on stdout; only warnings of its connections go to the log
  const logger = createLogger({ level: 'error', format: 'pretty', defaultMeta: { app: 'vcu' } });
  // a command should fail fast when Redis is away, not wait for it as the apps do
  const { redis, queues, store } = connect({ config, logger, name: 'vcu-cli', retriesPerCommand: 2 });
  const s3 = createS3Client(config.s3);
  const deps: CliDeps = {
    config,
    store,
    queues,
    target: { client: s3, bucket: config.s3.bucket },
    out: (line) => void process.stdout.write(`${line}\n`),
  };
  try {
    if (command === 'status' && args.includes('--watch')) {
      for (;;) {
        if (process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
        await status(deps);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
    if (command === 'status') return await status(deps);
    if (command === 'verify') return await verify(deps, args[0] ?? '');
    if (command === 'restore') return await restore(deps, args[0] ?? '', args[1] ?? '');
    return await retryFailed(deps);
  } finally {
    await queues.close();
    redis.disconnect();
    s3.destroy();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const usage = err instanceof UsageError || err instanceof ConfigError;
    // a usage message may end with the usage text (several lines); an error is one line, names escaped
    process.stderr.write(`vcu: ${usage ? err.message : printable(describeError(err))}\n`);
    process.exit(usage ? 2 : 1);
  },
);
