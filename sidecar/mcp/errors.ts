import type { ErrorInfo, ErrorType } from '../../common/events';

/** A failure with a type a retry policy can match and a message that says what happened and where. */
export class StepFailure extends Error {
  override name = 'StepFailure';
  constructor(
    readonly type: ErrorType,
    message: string,
    readonly details: { server?: string; tool?: string; location?: string } = {},
  ) {
    super(message);
  }

  /** The journaled form. */
  info(): ErrorInfo {
    return { type: this.type, message: this.message, ...this.details };
  }
}

/** The ErrorInfo of any thrown value; unexpected ones become InternalError with their message, never a stack. */
export function errorInfo(error: unknown): ErrorInfo {
  if (error instanceof StepFailure) return error.info();
  return { type: 'InternalError', message: error instanceof Error ? error.message : String(error) };
}
