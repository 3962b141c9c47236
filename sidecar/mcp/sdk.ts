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

let loading: Promise<McpSdk> | undefined;
let loaded: McpSdk | undefined;

/**
 * Loads the SDK (once). Dynamic imports, not require(): the bundle keeps the SDK's ES modules, tree-shaken, and
 * evaluates them only here.
 */
export function loadMcpSdk(): Promise<McpSdk> {
  loading ??= Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/sse.js'),
    import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
    import('@modelcontextprotocol/sdk/client/stdio.js'),
    import('@modelcontextprotocol/sdk/shared/stdio.js'),
    import('@modelcontextprotocol/sdk/types.js'),
  ]).then(([index, sse, http, stdio, shared, types]) => {
    loaded = {
      Client: index.Client,
      SSEClientTransport: sse.SSEClientTransport,
      StreamableHTTPClientTransport: http.StreamableHTTPClientTransport,
      getDefaultEnvironment: stdio.getDefaultEnvironment,
      serializeMessage: shared.serializeMessage,
      deserializeMessage: shared.deserializeMessage,
      ErrorCode: types.ErrorCode,
      McpError: types.McpError,
    };
    return loaded;
  });
  return loading;
}

/** The SDK, once loadMcpSdk() has loaded it: a connection loads it before it starts anything. */
export function mcpSdk(): McpSdk {
  if (!loaded) throw new Error('the MCP SDK is used before it was loaded (a connection loads it as it starts)');
  return loaded;
}
