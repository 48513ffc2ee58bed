import { useState, type FormEvent } from 'react';
import { Api, ApiError, errorMessage } from '../api/client';

/** Checks the token with one cheap authenticated call before keeping it. */
export function SignIn({ onSignedIn, notice }: { onSignedIn: (token: string) => void; notice?: string }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const t = token.trim();
    if (!t) return;
    setBusy(true);
    setError('');
    try {
      await new Api(t).get('/agents', { pageSize: 1 });
      onSignedIn(t);
    } catch (err) {
      setError(err instanceof ApiError && err.httpStatus === 401 ? 'This token is not a valid admin token.' : errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="signin">
      <form className="signin-card" onSubmit={submit}>
        <div className="brand brand-large">
          <span className="brand-mark" /> OpAMP fleet
        </div>
        <h1>Sign in</h1>
        <p className="muted">
          Use an admin token of your tenant. The embedded server prints one at start (<code>admin token opamp_admin_…</code>). It is kept in this tab only and
          forgotten when the tab closes.
        </p>
        {notice && <div className="notice">{notice}</div>}
        <label className="field">
          <span>Admin token</span>
          <input data-testid="token" type="password" autoFocus autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} placeholder="opamp_admin_…" />
        </label>
        {error && (
          <div className="error-box" role="alert">
            {error}
          </div>
        )}
        <button className="btn btn-primary btn-block" type="submit" disabled={busy || !token.trim()} data-testid="sign-in">
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
