import { createRoot } from 'react-dom/client';
import type { DashboardMessage } from '../../common/dashboard';
import { onMessage, post } from '../shared/host';
import { App } from './App';
import './dashboard.css';
import { DashboardStore } from './store';

const store = new DashboardStore();
onMessage<DashboardMessage>((message) => store.receive(message));
createRoot(document.getElementById('root')!).render(<App store={store} />);
post({ type: 'ready' });
