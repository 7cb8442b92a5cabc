// The Developer page: what a developer wiring their own backend to stagecast needs — API keys
// (with scopes) for calling the API, and webhook endpoints that are told what happens in the
// events they host, with each endpoint's deliveries.
import { ApiKeysPanel } from '../developer/ApiKeysPanel';
import { WebhooksPanel } from '../developer/WebhooksPanel';
import { useAuth } from '../lib/auth';
import { usePageTitle } from '../lib/hooks';

export function DeveloperPage() {
  usePageTitle('Developer');
  const { api } = useAuth();
  return (
    <div className="dev-page stack">
      <div>
        <div className="page-head">
          <h1>Developer</h1>
        </div>
        <p className="muted">
          Connect your own backend to stagecast: an API key lets it call the API as you, and webhooks tell it what happens in the events you host.
        </p>
      </div>
      <ApiKeysPanel api={api} />
      <WebhooksPanel api={api} />
    </div>
  );
}
