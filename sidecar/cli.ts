import { main } from './cli/main';

// The `openconductor` command. Exit codes: 0 success, 1 workflow failed or invalid, 2 usage error.
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`openconductor: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
