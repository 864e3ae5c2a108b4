import { mount } from 'svelte';
import App from './App.svelte';
import { connect } from './transport/connect';
import { accessToken } from './transport/token';
import './styles.css';

const target = document.getElementById('app');
if (!target) throw new Error('missing #app');
const connection = connect();
if (connection.kind === 'browser' && !accessToken()) {
  // Opened without the printed URL (a new tab, a bookmark): every API call would be refused.
  const notice = document.createElement('p');
  notice.className = 'needs-token';
  notice.dataset.testid = 'needs-token';
  notice.textContent =
    'This workbench needs its access token. Open the URL that `npm run serve` printed (it ends with ?token=…).';
  target.append(notice);
} else {
  mount(App, { target, props: { connection } });
}
