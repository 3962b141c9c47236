import type { Template } from '../expressions';
import type { Range } from '../source';

/**
 * A value from the workflow file that may embed `${{ }}` expressions, kept as a tree so each part knows its range.
 * Objects and lists without expressions carry their plain value in `constant`, so evaluating them allocates nothing.
 * A template's `sourceMap` gives the document offset of each character of the string (see scalarSourceMap).
 */
export type ValueTemplate =
  | { kind: 'literal'; value: unknown; range: Range }
  | { kind: 'template'; template: Template; range: Range; sourceMap: number[] }
  | { kind: 'object'; entries: ObjectEntry[]; range: Range; constant?: { value: unknown } }
  | { kind: 'array'; items: ValueTemplate[]; range: Range; constant?: { value: unknown } };

/** One key of an object-valued template. */
export interface ObjectEntry {
  key: string;
  keyRange: Range;
  value: ValueTemplate;
}

/** A name with the range where the file writes it. */
export interface Named {
  name: string;
  range: Range;
}

export type InputType = 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'object';

/** A declared workflow input. */
export interface InputDefinition {
  name: string;
  range: Range;
  type: InputType;
  description?: string;
  default?: unknown;
  required: boolean;
  enum?: unknown[];
}

/** A server declared in the workflow's own `servers:` block, before its expressions are evaluated. */
export interface ServerDeclaration {
  name: string;
  range: Range;
  /** The declaration as written (same shape as a .vscode/mcp.json entry); string fields may hold templates. */
  definition: ValueTemplate;
}

/** A step that calls one MCP tool. */
export interface StepDefinition {
  id: string;
  idRange: Range;
  range: Range;
  name?: string;
  server: Named;
  tool: Named;
  with?: ValueTemplate;
  needs: Named[];
  if?: ValueTemplate;
  foreach?: ValueTemplate;
  /** With foreach: how many calls at once, when the step sets it. */
  concurrency?: number;
  /** Per-call timeout in milliseconds, when the step sets one. */
  timeoutMs?: number;
  outputs?: ValueTemplate;
}

/** A parsed workflow. Every node keeps its source range, for diagnostics and the language server. */
export interface WorkflowDefinition {
  name: string;
  description?: string;
  inputs: InputDefinition[];
  servers: ServerDeclaration[];
  steps: StepDefinition[];
  outputs?: ValueTemplate;
  /** Milliseconds; the timeout of a step that sets none. */
  defaultTimeoutMs: number;
}

export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_CONCURRENCY = 4;
