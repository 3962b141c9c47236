/**
 * The MCP SDK's runtime parts, loaded on first use. Loading the SDK (and the zod schemas it builds as it loads) is a
 * good part of a sidecar's start, and a sidecar that starts no server (an editor opening, browsing runs or the
 * registry) never needs it. Everything else imports only its types.
 */
import type * as ClientIndex from '@modelcontextprotocol/sdk/client/index.js';
import type * as ClientSse from '@modelcontextprotocol/sdk/client/sse.js';
import type * as ClientStdio from '@modelcontextprotocol/sdk/client/stdio.js';
import type * as ClientHttp from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type * as SharedStdio from '@modelcontextprotocol/sdk/shared/stdio.js';
import type * as Types from '@modelcontextprotocol/sdk/types.js';

/** The SDK values the MCP client uses. */
export interface McpSdk {
  Client: typeof ClientIndex.Client;
  SSEClientTransport: typeof ClientSse.SSEClientTransport;
  StreamableHTTPClientTransport: typeof ClientHttp.StreamableHTTPClientTransport;
  getDefaultEnvironment: typeof ClientStdio.getDefaultEnvironment;
  serializeMessage: typeof SharedStdio.serializeMessage;
  deserializeMessage: typeof SharedStdio.deserializeMessage;
  ErrorCode: typeof Types.ErrorCode;
  McpError: typeof Types.McpError;
}

let loaded: McpSdk | undefined;

/** The SDK, loaded the first time it is asked for. */
export function mcpSdk(): McpSdk {
  if (!loaded) {
    const { Client } = require('@modelcontextprotocol/sdk/client/index.js') as typeof ClientIndex;
    const { SSEClientTransport } = require('@modelcontextprotocol/sdk/client/sse.js') as typeof ClientSse;
    const { StreamableHTTPClientTransport } = require('@modelcontextprotocol/sdk/client/streamableHttp.js') as typeof ClientHttp;
    const { getDefaultEnvironment } = require('@modelcontextprotocol/sdk/client/stdio.js') as typeof ClientStdio;
    const { serializeMessage, deserializeMessage } = require('@modelcontextprotocol/sdk/shared/stdio.js') as typeof SharedStdio;
    const { ErrorCode, McpError } = require('@modelcontextprotocol/sdk/types.js') as typeof Types;
    loaded = { Client, SSEClientTransport, StreamableHTTPClientTransport, getDefaultEnvironment, serializeMessage, deserializeMessage, ErrorCode, McpError };
  }
  return loaded;
}
