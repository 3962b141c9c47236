import * as readline from 'node:readline';
import type { McpInput } from '../../common/servers';
import { inputEnvironmentVariable } from '../engine/resolve-servers';

/** The value of an mcp.json input: from OPENCONDUCTOR_INPUT_<ID>, else asked on the terminal (hidden for passwords), else undefined. */
export async function askInput(input: McpInput): Promise<string | undefined> {
  const fromEnv = process.env[inputEnvironmentVariable(input.id)];
  if (fromEnv !== undefined) return fromEnv;
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  const label = `${input.description ?? input.id}${input.default ? ` [${input.default}]` : ''}: `;
  const answer = input.password ? await askHidden(label) : await ask(label);
  return answer === '' && input.default !== undefined ? input.default : answer;
}

function ask(label: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  return new Promise((resolve) => {
    rl.question(label, (answer) => {
      rl.close();
      resolve(answer);
    });
  });
}

function askHidden(label: string): Promise<string> {
  return new Promise((resolve) => {
    process.stderr.write(label);
    const stdin = process.stdin;
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    let value = '';
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          resolve(value);
          return;
        }
        if (ch === '\u0003') process.exit(130);
        value = ch === '\u007f' ? value.slice(0, -1) : value + ch;
      }
    };
    stdin.on('data', onData);
  });
}
