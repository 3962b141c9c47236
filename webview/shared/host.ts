/** The webview side of postMessage with the extension: typed by the app's message types in common/. */
interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

/** VS Code's API may be acquired once per page. */
const api = acquireVsCodeApi();

/** Sends a message to the extension. */
export function post<T>(message: T): void {
  api.postMessage(message);
}

/** Calls handler with each message from the extension; returns the unsubscribe. */
export function onMessage<T>(handler: (message: T) => void): () => void {
  const listener = (event: MessageEvent) => handler(event.data as T);
  window.addEventListener('message', listener);
  return () => window.removeEventListener('message', listener);
}

/** The state VS Code keeps for this webview while it is hidden or moved. */
export function savedState<S>(): S | undefined {
  return api.getState() as S | undefined;
}

/** Saves the state VS Code restores when the webview is shown again. */
export function saveState<S>(state: S): void {
  api.setState(state);
}
