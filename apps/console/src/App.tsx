import { useMemo, useState } from 'react';
import { Api, session } from './api/client';
import { ApiContext } from './api/context';
import { Link, match, navigate, useLocation } from './router';
import { AgentDetail } from './pages/AgentDetail';
import { Agents } from './pages/Agents';
import { AgentTokens } from './pages/AgentTokens';
import { Audit } from './pages/Audit';
import { ConfigurationDetail } from './pages/ConfigurationDetail';
import { ConfigurationNew } from './pages/ConfigurationNew';
import { Configurations } from './pages/Configurations';
import { Overview } from './pages/Overview';
import { PackageAssignments } from './pages/PackageAssignments';
import { PackageDetail } from './pages/PackageDetail';
import { PackageRolloutDetail } from './pages/PackageRolloutDetail';
import { PackageRollouts } from './pages/PackageRollouts';
import { Packages } from './pages/Packages';
import { PendingSwitches } from './pages/PendingSwitches';
import { RolloutDetail } from './pages/RolloutDetail';
import { Rollouts } from './pages/Rollouts';
import { SignIn } from './pages/SignIn';
import { TenantSettings } from './pages/TenantSettings';

const NAV: [string, string, (path: string) => boolean][] = [
  ['/', 'Overview', (p) => p === '/'],
  ['/agents', 'Agents', (p) => p.startsWith('/agents')],
  ['/configurations', 'Configurations', (p) => p.startsWith('/configurations')],
  ['/rollouts', 'Rollouts', (p) => p.startsWith('/rollouts')],
  ['/packages', 'Packages', (p) => p.startsWith('/packages') || p.startsWith('/package-')],
  ['/agent-tokens', 'Agent tokens', (p) => p.startsWith('/agent-tokens')],
  ['/audit', 'Audit log', (p) => p.startsWith('/audit')],
  ['/settings', 'Settings', (p) => p.startsWith('/settings')],
];

function Page({ path }: { path: string }) {
  let m: Record<string, string> | null;
  if (path === '/' || path === '') return <Overview />;
  if (match('/agents', path)) return <Agents />;
  if (match('/agents/pending-switches', path)) return <PendingSwitches />;
  if ((m = match('/agents/:uid', path))) return <AgentDetail key={m.uid} uid={m.uid} />;
  if (match('/configurations', path)) return <Configurations />;
  if (match('/configurations/new', path)) return <ConfigurationNew />;
  if ((m = match('/configurations/:name', path))) return <ConfigurationDetail key={m.name} name={m.name} />;
  if (match('/rollouts', path)) return <Rollouts />;
  if ((m = match('/rollouts/:name', path))) return <RolloutDetail key={m.name} name={m.name} />;
  if (match('/packages', path)) return <Packages />;
  if ((m = match('/packages/:name', path))) return <PackageDetail key={m.name} name={m.name} />;
  if (match('/package-assignments', path)) return <PackageAssignments />;
  if (match('/package-rollouts', path)) return <PackageRollouts />;
  if ((m = match('/package-rollouts/:name', path))) return <PackageRolloutDetail key={m.name} name={m.name} />;
  if (match('/audit', path)) return <Audit />;
  if (match('/agent-tokens', path)) return <AgentTokens />;
  if (match('/settings', path)) return <TenantSettings />;
  return (
    <div className="card">
      <h1>Not found</h1>
      <p>
        Nothing at <code>{path}</code>. <Link to="/">Back to the overview</Link>.
      </p>
    </div>
  );
}

export function App() {
  const [token, setToken] = useState<string | null>(session.token());
  const [notice, setNotice] = useState<string>('');
  const { path } = useLocation();

  const signOut = (why = '') => {
    session.clear();
    setNotice(why);
    setToken(null);
  };
  const api = useMemo(() => (token ? new Api(token, () => signOut('Your token was refused (revoked or invalid): sign in again.')) : null), [token]);

  if (!token || !api) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(t) => {
          session.save(t);
          setNotice('');
          setToken(t);
        }}
      />
    );
  }

  return (
    <ApiContext.Provider value={api}>
      <div className="shell">
        <aside className="sidebar">
          <div className="brand" onClick={() => navigate('/')}>
            <span className="brand-mark" /> OpAMP fleet
          </div>
          <nav>
            {NAV.map(([to, label, active]) => (
              <Link key={to} to={to} className={active(path) ? 'active' : ''} data-testid={`nav-${label.toLowerCase().replace(/\s+/g, '-')}`}>
                {label}
              </Link>
            ))}
          </nav>
          <div className="sidebar-foot">
            <button className="btn btn-ghost" data-testid="sign-out" onClick={() => signOut('Signed out.')}>
              Sign out
            </button>
          </div>
        </aside>
        <main className="content">
          <Page path={path} />
        </main>
      </div>
    </ApiContext.Provider>
  );
}
