/** The registry details panel: one catalog entry, laid out from the view the extension shaped (details-messages.ts). */
import { createRoot } from 'react-dom/client';
import { useEffect, useState } from 'react';
import type { DetailsRequest, DetailsUpdate, DetailsView } from '../../common/registry/details-messages';
import { onMessage, post, savedState, saveState } from '../shared/host';
import { Details } from './details';
import './style.css';

function App() {
  // The last view, so that a panel VS Code reloads after being hidden shows at once.
  const [view, setView] = useState<DetailsView | undefined>(() => savedState<DetailsView>());
  useEffect(() => {
    const stop = onMessage<DetailsUpdate>((message) => {
      if (message?.type !== 'show') return;
      setView(message.view);
      saveState(message.view);
    });
    post<DetailsRequest>({ type: 'ready' });
    return stop;
  }, []);
  return view ? <Details view={view} /> : <p className="loading">Loading…</p>;
}

createRoot(document.getElementById('root')!).render(<App />);
