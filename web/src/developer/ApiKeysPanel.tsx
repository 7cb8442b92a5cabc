// The Developer page's "API keys" section: make a key for a backend (a name, its scopes, when it
// expires), show its secret once, and list my keys (name, prefix, scopes with what they include,
// created, last used, expiry, revoked) with Revoke behind a confirmation.
import { type FormEvent, useId, useRef, useState } from 'react';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Empty, ErrorMessage, Loading } from '../components/ui';
import { ApiError, type ApiClient, errorText } from '../lib/api';
import { formatWhen } from '../lib/datetime';
import {
  API_KEY_LIMIT,
  API_KEY_NAME_MAX,
  API_KEY_STATE_LABEL,
  type ApiKeyField,
  type ApiKeyForm,
  EXPIRY_CHOICES,
  type ExpiryChoice,
  SCOPES,
  apiKeyFieldOfCode,
  apiKeyFormErrors,
  apiKeyInput,
  apiKeyState,
  emptyApiKeyForm,
  includedBy,
  keyHint,
  scopeDisplay,
  withoutSecret,
} from '../lib/developer';
import { useAsync, useNow } from '../lib/hooks';
import type { ApiKey } from '../lib/types';
import { SecretBox } from './SecretBox';

interface Props {
  api: ApiClient;
  /** Keys to show instead of loading them: for tests. */
  initialKeys?: ApiKey[];
  /** A secret to show as if a key had just been made: for tests. */
  initialFresh?: { name: string; secret: string };
}

export function ApiKeysPanel({ api, initialKeys, initialFresh }: Props) {
  const ids = {
    title: useId(),
    formTitle: useId(),
    listTitle: useId(),
    name: useId(),
    scopes: useId(),
    expiry: useId(),
    expiresOn: useId(),
  };
  const list = useAsync(() => (initialKeys ? Promise.resolve({ api_keys: initialKeys }) : api.apiKeys()), [api]);
  const keys = list.status === 'ready' ? (list.data?.api_keys ?? []) : (initialKeys ?? []);
  const loaded = list.status === 'ready' || (list.status === 'loading' && !!initialKeys);
  const [form, setForm] = useState<ApiKeyForm>(emptyApiKeyForm);
  const [fieldErrors, setFieldErrors] = useState<Partial<Record<ApiKeyField, string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [rowError, setRowError] = useState<{ id: string; message: string } | null>(null);
  const [fresh, setFresh] = useState<{ name: string; secret: string } | null>(initialFresh ?? null);
  const listHeading = useRef<HTMLHeadingElement>(null);
  const now = useNow(60_000);
  const active = keys.filter((k) => apiKeyState(k, now) === 'active').length;

  function clearFeedback() {
    setDone(null);
    setRowError(null);
    setFormError(null);
  }

  function edit<K extends keyof ApiKeyForm>(field: K, value: ApiKeyForm[K]) {
    setForm((f) => ({ ...f, [field]: value }));
    const key: ApiKeyField = field === 'expiresOn' ? 'expiry' : (field as ApiKeyField);
    if (fieldErrors[key]) setFieldErrors(({ [key]: _gone, ...rest }) => rest);
  }

  function tick(scope: string, on: boolean) {
    edit('scopes', on ? [...form.scopes, scope] : form.scopes.filter((s) => s !== scope));
  }

  function focusField(field: ApiKeyField) {
    if (field === 'scopes') {
      // The first scope that can be ticked (one a ticked write scope includes cannot).
      const first = SCOPES.findIndex((s) => includedBy(s.scope, form.scopes).length === 0);
      document.getElementById(`${ids.scopes}-${Math.max(0, first)}`)?.focus();
      return;
    }
    document.getElementById(field === 'expiry' && form.expiry === 'date' ? ids.expiresOn : ids[field])?.focus();
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    clearFeedback();
    const errors = apiKeyFormErrors(form);
    setFieldErrors(errors);
    const first = (['name', 'scopes', 'expiry'] as const).find((f) => errors[f]);
    if (first) {
      focusField(first);
      return;
    }
    setBusy('create');
    try {
      const created = await api.createApiKey(apiKeyInput(form));
      setFresh({ name: created.name, secret: created.secret });
      setForm(emptyApiKeyForm());
      list.set({ api_keys: [withoutSecret(created), ...keys.filter((k) => k.id !== created.id)] });
    } catch (err) {
      const field = err instanceof ApiError ? apiKeyFieldOfCode(err.code) : null;
      if (field) {
        setFieldErrors({ [field]: errorText(err) });
        focusField(field);
      } else setFormError(`Could not create the key: ${errorText(err)}`);
    } finally {
      setBusy(null);
    }
  }

  async function revoke(key: ApiKey) {
    setBusy(`${key.id}:revoke`);
    clearFeedback();
    try {
      const revoked = await api.revokeApiKey(key.id);
      list.set({ api_keys: keys.map((k) => (k.id === key.id ? revoked : k)) });
      setDone(`Revoked “${key.name}”: requests with it are refused from now on.`);
    } catch (err) {
      setRowError({ id: key.id, message: `Could not revoke the key: ${errorText(err)}` });
      if (err instanceof ApiError && err.code === 'api_key_not_found') list.reload();
    } finally {
      setBusy(null);
      setConfirm(null);
    }
  }

  function dismissSecret() {
    setFresh(null);
    listHeading.current?.focus();
  }

  const describe = (field: ApiKeyField, hint?: string) => [fieldErrors[field] ? `${ids[field]}-error` : '', hint ?? ''].filter(Boolean).join(' ') || undefined;
  const fieldError = (field: ApiKeyField) =>
    fieldErrors[field] ? (
      <span className="field-error" id={`${ids[field]}-error`} data-testid={`api-key-${field}-error`}>
        {fieldErrors[field]}
      </span>
    ) : null;

  return (
    <section className="card dev-panel" aria-labelledby={ids.title} data-testid="api-keys">
      <div className="page-head">
        <h2 id={ids.title}>API keys</h2>
        <button type="button" className="btn btn-small" aria-label="Refresh API keys" onClick={list.reload}>
          Refresh
        </button>
      </div>
      <p className="small muted">
        A key lets your backend call the stagecast API as you, limited to the scopes you give it: send it as <span className="mono">Authorization: Bearer sck_…</span>.
        Treat it like a password.
      </p>
      {done && (
        <p className="alert alert-info" role="status">
          {done}
        </p>
      )}

      {fresh && <SecretBoxFor name={fresh.name} secret={fresh.secret} onDone={dismissSecret} />}

      <h3 id={ids.formTitle}>New key</h3>
      <form className="dev-form" aria-labelledby={ids.formTitle} data-testid="api-key-form" noValidate onSubmit={(e) => void submit(e)}>
        {formError && <ErrorMessage message={formError} />}
        <div className="field">
          <label htmlFor={ids.name}>Name</label>
          <input
            id={ids.name}
            type="text"
            maxLength={API_KEY_NAME_MAX}
            autoComplete="off"
            required
            value={form.name}
            aria-invalid={fieldErrors.name ? true : undefined}
            aria-describedby={describe('name', `${ids.name}-hint`)}
            onChange={(e) => edit('name', e.target.value)}
          />
          {fieldError('name')}
          <span className="hint" id={`${ids.name}-hint`}>
            What the key is for, such as "CI deploys" (up to {API_KEY_NAME_MAX} characters).
          </span>
        </div>
        <fieldset className="field dev-fieldset" aria-describedby={describe('scopes', `${ids.scopes}-hint`)}>
          <legend>Scopes</legend>
          <span className="hint" id={`${ids.scopes}-hint`}>
            What the key may do. A write scope includes its read scope.
          </span>
          {fieldError('scopes')}
          <ul className="check-list">
            {SCOPES.map((s, i) => {
              const by = includedBy(s.scope, form.scopes);
              const id = `${ids.scopes}-${i}`;
              return (
                <li key={s.scope} className="check">
                  <input
                    id={id}
                    type="checkbox"
                    value={s.scope}
                    checked={by.length > 0 || form.scopes.includes(s.scope)}
                    disabled={by.length > 0}
                    aria-describedby={`${id}-help`}
                    onChange={(e) => tick(s.scope, e.target.checked)}
                  />
                  <span className="check-text">
                    <label htmlFor={id} className="mono">
                      {s.scope}
                    </label>
                    <span className="hint" id={`${id}-help`}>
                      {s.help}
                      {by.length > 0 && ` Included in ${by.join(' and ')}.`}
                    </span>
                  </span>
                </li>
              );
            })}
          </ul>
        </fieldset>
        <div className="field">
          <label htmlFor={ids.expiry}>Expires</label>
          <select
            id={ids.expiry}
            value={form.expiry}
            aria-invalid={fieldErrors.expiry && form.expiry !== 'date' ? true : undefined}
            aria-describedby={form.expiry === 'date' ? undefined : describe('expiry')}
            onChange={(e) => edit('expiry', e.target.value as ExpiryChoice)}
          >
            {EXPIRY_CHOICES.map((c) => (
              <option key={c.value} value={c.value}>
                {c.label}
              </option>
            ))}
          </select>
          {form.expiry !== 'date' && fieldError('expiry')}
        </div>
        {form.expiry === 'date' && (
          <div className="field">
            <label htmlFor={ids.expiresOn}>Expires on</label>
            <input
              id={ids.expiresOn}
              type="datetime-local"
              value={form.expiresOn}
              aria-invalid={fieldErrors.expiry ? true : undefined}
              aria-describedby={describe('expiry', `${ids.expiresOn}-hint`)}
              onChange={(e) => edit('expiresOn', e.target.value)}
            />
            {fieldError('expiry')}
            <span className="hint" id={`${ids.expiresOn}-hint`}>
              Your local time ({Intl.DateTimeFormat().resolvedOptions().timeZone}). The key stops working then.
            </span>
          </div>
        )}
        <button type="submit" className="btn btn-primary" disabled={busy !== null}>
          {busy === 'create' ? 'Creating…' : 'Create key'}
        </button>
      </form>

      <h3 id={ids.listTitle} ref={listHeading} tabIndex={-1}>
        Your keys
      </h3>
      {loaded && (
        <p className="small muted">
          {active} of {API_KEY_LIMIT} keys in use (revoked and expired keys do not count).
        </p>
      )}
      {list.status === 'loading' && !initialKeys && <Loading label="Loading your API keys…" />}
      {list.status === 'error' && <ErrorMessage message={`Could not load your API keys: ${list.error}`} onRetry={list.reload} />}
      {loaded && keys.length === 0 && <Empty>No API keys yet. Create one above for your backend.</Empty>}
      {keys.length > 0 && (
        <ul className="panel-list dev-list" aria-labelledby={ids.listTitle} data-testid="api-key-list">
          {keys.map((k) => (
            <ApiKeyRow
              key={k.id}
              k={k}
              now={now}
              busy={busy}
              confirm={confirm === k.id}
              error={rowError?.id === k.id ? rowError.message : null}
              onAskRevoke={() => {
                clearFeedback();
                setConfirm(k.id);
              }}
              onRevoke={() => void revoke(k)}
              onCancel={() => setConfirm(null)}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

function SecretBoxFor({ name, secret, onDone }: { name: string; secret: string; onDone: () => void }) {
  return (
    <SecretBox key={secret} title={`Your new API key “${name}”`} label="API key secret" secret={secret} testId="api-key-secret" onDone={onDone}>
      <p className="small">
        stagecast keeps only a hash of it. Store it in your backend's secret store; if you lose it, revoke this key and create a new one.
      </p>
    </SecretBox>
  );
}

function ApiKeyRow(props: {
  k: ApiKey;
  now: number;
  busy: string | null;
  confirm: boolean;
  error: string | null;
  onAskRevoke: () => void;
  onRevoke: () => void;
  onCancel: () => void;
}) {
  const { k, busy } = props;
  const state = apiKeyState(k, props.now);
  const revokeButton = useRef<HTMLButtonElement>(null);
  const cancel = () => {
    props.onCancel();
    // Back to the button that opened the dialog (enabled again once it has closed).
    window.setTimeout(() => revokeButton.current?.focus(), 0);
  };
  return (
    <li data-testid="api-key" data-key-id={k.id} data-state={state} className={`dev-row dev-row-${state}`}>
      <div className="dev-head">
        <strong className="dev-name">{k.name}</strong>
        <span className={state === 'active' ? 'badge badge-ok' : state === 'revoked' ? 'badge badge-failed' : 'badge'} data-testid="api-key-state">
          {API_KEY_STATE_LABEL[state]}
        </span>
        <span className="mono small" data-testid="api-key-prefix">
          {keyHint(k.prefix)}
        </span>
      </div>
      <div className="scope-chips" aria-label={`Scopes of ${k.name}`} role="group">
        {scopeDisplay(k.scopes).map((s) => (
          <span key={s.scope} className={s.implied ? 'chip chip-implied mono' : 'chip mono'} title={s.implied ? 'Included in a write scope' : undefined}>
            {s.scope}
            {s.implied && <span className="muted"> (included)</span>}
          </span>
        ))}
      </div>
      <dl className="dev-meta small">
        <div>
          <dt>Created</dt>
          <dd>{formatWhen(k.created_at)}</dd>
        </div>
        <div>
          <dt>Last used</dt>
          <dd>{k.last_used_at ? formatWhen(k.last_used_at) : 'Never'}</dd>
        </div>
        <div>
          <dt>{state === 'expired' ? 'Expired' : 'Expires'}</dt>
          <dd>{k.expires_at ? formatWhen(k.expires_at) : 'Never'}</dd>
        </div>
        {k.revoked_at && (
          <div>
            <dt>Revoked</dt>
            <dd>{formatWhen(k.revoked_at)}</dd>
          </div>
        )}
      </dl>
      {!k.revoked_at && (
        <div className="row" role="group" aria-label={`Actions for ${k.name}`}>
          <button
            ref={revokeButton}
            type="button"
            className="btn btn-small btn-danger"
            aria-label={`Revoke ${k.name}`}
            disabled={busy !== null || props.confirm}
            onClick={props.onAskRevoke}
          >
            Revoke
          </button>
        </div>
      )}
      {props.confirm && (
        <ConfirmDialog
          text={`Revoke “${k.name}”? Every request with it is refused from now on (401 api_key_revoked). This cannot be undone.`}
          confirmLabel="Yes, revoke it"
          busyLabel="Revoking…"
          cancelLabel="Keep it"
          busy={busy === `${k.id}:revoke`}
          confirmTestId="api-key-revoke-confirm"
          onConfirm={props.onRevoke}
          onCancel={cancel}
        />
      )}
      {props.error && <ErrorMessage message={props.error} />}
    </li>
  );
}
