/**
 * The @vscode-elements components this app uses, registered (each import defines its custom element) and typed for
 * JSX. Lit styles them with constructable stylesheets, which the webview's CSP allows; none of them uses codicons.
 */
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-collapsible/index.js';
import type { DetailedHTMLProps, HTMLAttributes } from 'react';

type CustomElement<P> = DetailedHTMLProps<HTMLAttributes<HTMLElement>, HTMLElement> & P;

declare module 'react' {
  namespace JSX {
    interface IntrinsicElements {
      'vscode-badge': CustomElement<{ variant?: 'default' | 'counter' }>;
      'vscode-button': CustomElement<{ secondary?: boolean; disabled?: boolean }>;
      'vscode-collapsible': CustomElement<{ heading: string; description?: string; open?: boolean }>;
    }
  }
}
