import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ToolInfo } from '../../common/workflow/tool-arguments';

interface Entry {
  server: string;
  definitionHash: string;
  fetchedAt: number;
  tools: ToolInfo[];
}

/**
 * The tools last listed from each server, so that validation can check tools and arguments without starting
 * servers. An entry counts only while the server's definition is unchanged.
 */
export class ToolCache {
  constructor(private readonly dir: string) {}

  /** The cached tools of a server, when its definition has not changed since they were listed. */
  get(server: string, definitionHash: string): ToolInfo[] | undefined {
    try {
      const entry = JSON.parse(fs.readFileSync(this.file(server), 'utf8')) as Entry;
      return entry.definitionHash === definitionHash ? entry.tools : undefined;
    } catch {
      return undefined;
    }
  }

  /** Remembers a server's tools (written atomically; a failure to write only loses the cache). */
  put(server: string, definitionHash: string, tools: ToolInfo[]): void {
    const entry: Entry = { server, definitionHash, fetchedAt: Date.now(), tools };
    try {
      fs.mkdirSync(this.dir, { recursive: true });
      const file = this.file(server);
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(entry));
      fs.renameSync(`${file}.tmp`, file);
    } catch {
      // The cache is an optimisation.
    }
  }

  private file(server: string): string {
    return path.join(this.dir, `${server.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
  }
}

/** The parts of an MCP tool that validation keeps. */
export function toolInfo(tool: Tool): ToolInfo {
  return { name: tool.name, ...(tool.description !== undefined && { description: tool.description }), inputSchema: tool.inputSchema as Record<string, unknown> };
}
