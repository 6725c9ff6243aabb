import { lazy, Suspense } from 'react';
import { InvitePage, SetupPage, SignInPage } from './pages/account/AccountPages';
import AdminPage from './pages/admin/AdminPage';
import { HomePage } from './pages/home/HomePage';
import { takeToken } from './core/token';
import { ErrorScreen } from './ui/ErrorScreen';
import { PageLoading } from './ui/Spinner';

// The session page pulls in Monaco (the bulk of the bundle); the home page does not need it.
const SessionPage = lazy(() => import('./pages/session/SessionPage'));
const QuestionsPage = lazy(() => import('./pages/questions/QuestionsPage'));

/** A few routes only, so a path match is enough; the server answers every non-/api path with index.html. */
export function App() {
  const path = window.location.pathname;
  if (path === '/' || path === '/index.html') return <HomePage />;
  if (path === '/admin' || path === '/admin/') return <AdminPage />;
  if (path === '/signin') return <SignInPage />;
  if (path === '/setup') return <SetupPage />;
  if (path === '/invite') return <InvitePage />;

  const q = /^\/questions(?:\/([^/]+))?\/?$/.exec(path);
  if (q) {
    return (
      <Suspense fallback={<PageLoading label="Loading…" />}>
        <QuestionsPage id={q[1] ? decodeURIComponent(q[1]) : null} />
      </Suspense>
    );
  }

  const m = /^\/session\/([^/]+)\/?$/.exec(path);
  if (m) {
    const id = decodeURIComponent(m[1]);
    // Out of the address bar now, not after the editor bundle has downloaded.
    takeToken(id);
    return (
      <Suspense fallback={<PageLoading label="Loading session…" />}>
        <SessionPage sessionId={id} />
      </Suspense>
    );
  }

  return (
    <ErrorScreen
      title="Page not found"
      message="There is nothing at this address."
      action={{ label: 'Create a session', href: '/' }}
    />
  );
}
