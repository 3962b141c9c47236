import { createHash } from 'node:crypto';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { ServerConnection, type ConnectionOptions, type ServerSpec, type ServerStatus } from './connection';
import { Listeners } from '../../common/listeners';

/** A pool of MCP server connections keyed by name and definition: started lazily, reused, closed together. */
export class McpPool {
  private readonly connections = new Map<string, ServerConnection>();
  /** Every call asks for its connection: find a spec seen before without hashing its definition again. */
  private readonly bySpec = new WeakMap<ServerSpec, ServerConnection>();
  private readonly listeners = new Listeners<ServerStatus>();

  constructor(private readonly options: ConnectionOptions) {}

  /** The connection for a server, created (not started) on first request. */
  connection(spec: ServerSpec): ServerConnection {
    const known = this.bySpec.get(spec);
    if (known) return known;
    const key = `${spec.name}\u0000${createHash('sha256').update(JSON.stringify(spec.definition)).digest('hex')}`;
    let connection = this.connections.get(key);
    if (!connection) {
      connection = new ServerConnection(spec, this.options, (c) => this.notify(c.status()));
      this.connections.set(key, connection);
    }
    this.bySpec.set(spec, connection);
    return connection;
  }

  /** Calls `listener` whenever a server's state changes; returns the unsubscribe function. */
  onStatus(listener: (status: ServerStatus) => void): () => void {
    return this.listeners.add(listener);
  }

  /** The tools last listed from a server with this name, without starting it. */
  knownTools(name: string): Tool[] | undefined {
    for (const c of this.connections.values()) if (c.spec.name === name && c.knownTools()) return c.knownTools();
    return undefined;
  }

  /** Every server's status. */
  statuses(): ServerStatus[] {
    return [...this.connections.values()].map((c) => c.status());
  }

  /** Stops the servers of this name (the next use starts them again). */
  async close(name: string): Promise<void> {
    await Promise.all([...this.connections.values()].filter((c) => c.spec.name === name).map((c) => c.close()));
  }

  /** Stops every server. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.connections.values()].map((c) => c.close()));
  }

  /** Kills every stdio server at once; for process exit. */
  killAll(): void {
    for (const c of this.connections.values()) c.kill();
  }

  private notify(status: ServerStatus): void {
    this.listeners.emit(status);
  }
}
