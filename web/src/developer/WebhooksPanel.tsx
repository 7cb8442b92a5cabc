// The Developer page's "Webhooks" section: add an endpoint (URL, description, which events) and
// show its signing secret once; list my endpoints with an Enabled switch (one stagecast turned
// off after failing says so, since when, and how to turn it back on), Edit, Rotate secret (the
// old secret keeps signing for a day) and Delete behind confirmations; and each endpoint's
// Deliveries: state, event type, attempts, the last answer, the payload and the attempt log,
// with Redeliver and Refresh.
import { type FormEvent, type ReactNode, useId, useRef, useState } from 'react';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Empty, ErrorMessage, Loading } from '../components/ui';
import { ApiError, type ApiClient } from '../lib/api';
import { formatWhen } from '../lib/datetime';
import {
  ENDPOINT_STATE_LABEL,
  type EndpointState,
  type WebhookField,
  type WebhookForm as Form,
  attemptText,
  deliveryStateLabel,
  deliverySummary,
  emptyWebhookForm,
  endpointNotice,
  endpointState,
  eventTypesLabel,
  prettyPayload,
  replaceDelivery,
  webhookChanges,
  webhookErrorText,
  webhookFieldOfCode,
  webhookFormErrors,
  webhookFormOf,
  webhookInput,
  withoutSecret,
} from '../lib/developer';
import { useAsync } from '../lib/hooks';
import type { WebhookDelivery, WebhookEndpoint } from '../lib/types';
import { SecretBox } from './SecretBox';
import { WebhookForm } from './WebhookForm';

/** How many deliveries the Deliveries view reads. */
export const DELIVERIES_LIMIT = 50;

interface Props {
  api: ApiClient;
  /** Endpoints to show instead of loading them: for tests. */
  initialWebhooks?: WebhookEndpoint[];
  /** Deliveries to show (by endpoint id) instead of loading them, those endpoints' views open: for tests. */
  initialDeliveries?: Record<string, WebhookDelivery[]>;
  /** A secret to show as if just made: for tests. */
  initialFresh?: Fresh;
}

interface Fresh {
  url: string;
  secret: string;
  rotated: boolean;
}

type Confirm = { kind: 'delete' | 'rotate'; id: string } | null;

interface Editing {
  id: string;
  form: Form;
  errors: Partial<Record<WebhookField, string>>;
  error: string | null;
}

const STATE_BADGE: Record<EndpointState, string> = {
  enabled: 'badge badge-ok',
  failing: 'badge dest-badge-busy',
  disabled: 'badge',
  disabled_failing: 'badge badge-failed',
};

export function WebhooksPanel({ api, initialWebhooks, initialDeliveries, initialFresh }: Props) {
  const ids = { title: useId(), formTitle: useId(), listTitle: useId() };
  const list = useAsync(() => (initialWebhooks ? Promise.resolve({ webhooks: initialWebhooks }) : api.webhooks()), [api]);
  const hooks = list.status === 'ready' ? (list.data?.webhooks ?? []) : (initialWebhooks ?? []);
  const loaded = list.status === 'ready' || (list.status === 'loading' && !!initialWebhooks);
  const [form, setForm] = useState<Form>(emptyWebhookForm);
  const [errors, setErrors] = useState<Partial<Record<WebhookField, string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<Confirm>(null);
  const [done, setDone] = useState<string | null>(null);
  const [rowError, setRowError] = useState<{ id: string; message: string } | null>(null);
  const [fresh, setFresh] = useState<Fresh | null>(initialFresh ?? null);
  const [editing, setEditing] = useState<Editing | null>(null);
  const [open, setOpen] = useState<ReadonlySet<string>>(() => new Set(Object.keys(initialDeliveries ?? {})));
  const [pendingEnabled, setPendingEnabled] = useState<{ id: string; value: boolean } | null>(null);
  const listHeading = useRef<HTMLHeadingElement>(null);

  function clearFeedback() {
    setDone(null);
    setRowError(null);
    setFormError(null);
  }

  function replaced(h: WebhookEndpoint) {
    list.set({ webhooks: hooks.map((x) => (x.id === h.id ? h : x)) });
  }

  /** Runs an action on one endpoint: its busy key, its error, and a reload when it is gone. */
  async function rowAction<T>(h: WebhookEndpoint, what: string, label: string, fn: () => Promise<T>): Promise<T | undefined> {
    setBusy(`${h.id}:${what}`);
    clearFeedback();
    try {
      return await fn();
    } catch (e) {
      setRowError({ id: h.id, message: `Could not ${label}: ${webhookErrorText(e)}` });
      if (e instanceof ApiError && e.code === 'webhook_not_found') list.reload();
      return undefined;
    } finally {
      setBusy(null);
    }
  }

  async function create(e: FormEvent, focus: (f: WebhookField) => void) {
    e.preventDefault();
    clearFeedback();
    const errs = webhookFormErrors(form);
    setErrors(errs);
    const first = (['url', 'description', 'filters'] as const).find((f) => errs[f]);
    if (first) {
      focus(first);
      return;
    }
    setBusy('create');
    try {
      const created = await api.createWebhook(webhookInput(form));
      setFresh({ url: created.url, secret: created.secret, rotated: false });
      setForm(emptyWebhookForm());
      list.set({ webhooks: [withoutSecret(created), ...hooks.filter((h) => h.id !== created.id)] });
    } catch (err) {
      const field = err instanceof ApiError ? webhookFieldOfCode(err.code) : null;
      if (field) {
        setErrors({ [field]: webhookErrorText(err) });
        focus(field);
      } else setFormError(`Could not add the endpoint: ${webhookErrorText(err)}`);
    } finally {
      setBusy(null);
    }
  }

  async function setEnabled(h: WebhookEndpoint, on: boolean) {
    setPendingEnabled({ id: h.id, value: on });
    const r = await rowAction(h, 'toggle', on ? 'turn the endpoint on' : 'turn the endpoint off', () => api.updateWebhook(h.id, { enabled: on }));
    setPendingEnabled(null);
    if (r) {
      replaced(r);
      setDone(on ? `${r.url} is on: new events are sent to it.` : `${r.url} is off: events are not sent to it until you switch it back on.`);
    }
  }

  async function rotate(h: WebhookEndpoint) {
    const r = await rowAction(h, 'rotate', 'rotate the secret', () => api.rotateWebhookSecret(h.id));
    setConfirm(null);
    if (r) {
      replaced(withoutSecret(r));
      setFresh({ url: r.url, secret: r.secret, rotated: true });
    }
  }

  async function remove(h: WebhookEndpoint) {
    const ok = await rowAction(h, 'delete', 'delete the endpoint', async () => {
      await api.deleteWebhook(h.id);
      return true;
    });
    setConfirm(null);
    if (ok) {
      list.set({ webhooks: hooks.filter((x) => x.id !== h.id) });
      if (editing?.id === h.id) setEditing(null);
      setDone(`Deleted the endpoint ${h.url}: nothing more is sent to it.`);
      listHeading.current?.focus();
    }
  }

  async function saveEdit(h: WebhookEndpoint, e: FormEvent, focus: (f: WebhookField) => void) {
    e.preventDefault();
    if (!editing) return;
    clearFeedback();
    const errs = webhookFormErrors(editing.form);
    const first = (['url', 'description', 'filters'] as const).find((f) => errs[f]);
    if (first) {
      setEditing({ ...editing, errors: errs, error: null });
      focus(first);
      return;
    }
    const patch = webhookChanges(h, editing.form);
    if (Object.keys(patch).length === 0) {
      setEditing({ ...editing, errors: {}, error: 'Nothing has changed. Edit a field, then save.' });
      return;
    }
    setBusy(`${h.id}:edit`);
    try {
      const r = await api.updateWebhook(h.id, patch);
      replaced(r);
      setEditing(null);
      setDone(`Saved the endpoint ${r.url}.`);
      // The form is gone: back to its Edit button.
      window.setTimeout(() => document.querySelector<HTMLElement>(`[data-webhook-id="${CSS.escape(h.id)}"] [data-action="edit"]`)?.focus(), 0);
    } catch (err) {
      const field = err instanceof ApiError ? webhookFieldOfCode(err.code) : null;
      setEditing((cur) =>
        cur && (field ? { ...cur, errors: { [field]: webhookErrorText(err) }, error: null } : { ...cur, errors: {}, error: `Could not save: ${webhookErrorText(err)}` }),
      );
      if (field) focus(field);
      if (err instanceof ApiError && err.code === 'webhook_not_found') list.reload();
    } finally {
      setBusy(null);
    }
  }

  function toggleDeliveries(id: string) {
    setOpen((o) => {
      const next = new Set(o);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }

  function dismissSecret() {
    setFresh(null);
    listHeading.current?.focus();
  }

  return (
    <section className="card dev-panel" aria-labelledby={ids.title} data-testid="webhooks">
      <div className="page-head">
        <h2 id={ids.title}>Webhooks</h2>
        <button type="button" className="btn btn-small" aria-label="Refresh webhooks" onClick={list.reload}>
          Refresh
        </button>
      </div>
      <p className="small muted">
        stagecast POSTs what happens in your events (going live, bans, recordings ready…) to your server as it happens, signed with the endpoint's secret as
        Standard Webhooks: check the <span className="mono">webhook-signature</span> header before trusting a delivery.
      </p>
      {done && (
        <p className="alert alert-info" role="status">
          {done}
        </p>
      )}

      {fresh && (
        <SecretBox
          key={fresh.secret}
          title={fresh.rotated ? 'New signing secret' : 'Signing secret of your new endpoint'}
          label="Signing secret"
          secret={fresh.secret}
          testId="webhook-secret"
          onDone={dismissSecret}
        >
          <p className="small">
            For <span className="mono">{fresh.url}</span>.{' '}
            {fresh.rotated
              ? 'The previous secret keeps signing for 24 hours beside this one (each delivery carries both signatures), so switch your server to this secret within a day.'
              : 'Your server verifies each delivery with it. If you lose it, rotate the secret to get a new one.'}
          </p>
        </SecretBox>
      )}

      <h3 id={ids.formTitle}>New endpoint</h3>
      <WebhookForm
        label="New endpoint"
        testId="webhook-form"
        form={form}
        onChange={(f) => {
          setForm(f);
          if (Object.keys(errors).length) setErrors({});
        }}
        errors={errors}
        error={formError}
        busy={busy === 'create'}
        submitLabel="Add endpoint"
        busyLabel="Adding…"
        onSubmit={(e, focus) => void create(e, focus)}
      />

      <h3 id={ids.listTitle} ref={listHeading} tabIndex={-1}>
        Your endpoints
      </h3>
      {list.status === 'loading' && !initialWebhooks && <Loading label="Loading your webhooks…" />}
      {list.status === 'error' && <ErrorMessage message={`Could not load your webhooks: ${list.error}`} onRetry={list.reload} />}
      {loaded && hooks.length === 0 && <Empty>No webhook endpoints yet. Add one above.</Empty>}
      {hooks.length > 0 && (
        <ul className="panel-list dev-list" aria-labelledby={ids.listTitle} data-testid="webhook-list">
          {hooks.map((h) => (
            <WebhookRow
              key={h.id}
              h={h}
              busy={busy}
              enabled={pendingEnabled?.id === h.id ? pendingEnabled.value : h.enabled}
              confirm={confirm?.id === h.id ? confirm.kind : null}
              error={rowError?.id === h.id ? rowError.message : null}
              open={open.has(h.id)}
              editing={editing?.id === h.id}
              onEnabled={(on) => void setEnabled(h, on)}
              onAsk={(kind) => {
                clearFeedback();
                setConfirm({ kind, id: h.id });
              }}
              onConfirm={() => void (confirm?.kind === 'delete' ? remove(h) : rotate(h))}
              onCancel={() => setConfirm(null)}
              onEdit={() => {
                clearFeedback();
                setEditing(editing?.id === h.id ? null : { id: h.id, form: webhookFormOf(h), errors: {}, error: null });
              }}
              onToggleDeliveries={() => toggleDeliveries(h.id)}
              editForm={(cancelEdit) =>
                editing?.id === h.id ? (
                  <WebhookForm
                    autoFocus
                    label={`Edit ${h.url}`}
                    testId="webhook-edit-form"
                    form={editing.form}
                    onChange={(f) => setEditing({ ...editing, form: f, errors: {}, error: null })}
                    errors={editing.errors}
                    error={editing.error}
                    busy={busy === `${h.id}:edit`}
                    submitLabel="Save changes"
                    busyLabel="Saving…"
                    onSubmit={(e, focus) => void saveEdit(h, e, focus)}
                    extra={
                      <button type="button" className="btn" onClick={cancelEdit}>
                        Cancel
                      </button>
                    }
                  />
                ) : null
              }
              deliveries={open.has(h.id) ? <Deliveries api={api} endpoint={h} initial={initialDeliveries?.[h.id]} /> : null}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

function WebhookRow(props: {
  h: WebhookEndpoint;
  busy: string | null;
  /** The switch's value (the one being saved, while it is). */
  enabled: boolean;
  confirm: 'delete' | 'rotate' | null;
  error: string | null;
  open: boolean;
  editing: boolean;
  onEnabled: (on: boolean) => void;
  onAsk: (kind: 'delete' | 'rotate') => void;
  onConfirm: () => void;
  onCancel: () => void;
  onEdit: () => void;
  onToggleDeliveries: () => void;
  /** The edit form while editing; `cancel` closes it and gives the focus back to Edit. */
  editForm: (cancel: () => void) => ReactNode;
  deliveries: ReactNode;
}) {
  const { h, busy } = props;
  const base = useId();
  const ids = { toggle: `${base}-enabled`, deliveries: `${base}-deliveries`, edit: `${base}-edit` };
  const state = endpointState(h);
  const notice = endpointNotice(h);
  const rotateButton = useRef<HTMLButtonElement>(null);
  const editButton = useRef<HTMLButtonElement>(null);
  const editForm = props.editForm(() => {
    props.onEdit();
    window.setTimeout(() => editButton.current?.focus(), 0);
  });
  const deleteButton = useRef<HTMLButtonElement>(null);
  const cancel = () => {
    const back = props.confirm === 'rotate' ? rotateButton : deleteButton;
    props.onCancel();
    // Back to the button that opened the dialog (enabled again once it has closed).
    window.setTimeout(() => back.current?.focus(), 0);
  };
  return (
    <li data-testid="webhook" data-webhook-id={h.id} data-state={state} data-enabled={h.enabled ? 'true' : 'false'} className={`dev-row dev-row-${state}`}>
      <div className="dev-head">
        <strong className="mono dev-url">{h.url}</strong>
        <span className={STATE_BADGE[state]} data-testid="webhook-state">
          {ENDPOINT_STATE_LABEL[state]}
        </span>
      </div>
      {h.description && <p className="small dev-description">{h.description}</p>}
      <dl className="dev-meta small">
        <div>
          <dt>Events</dt>
          <dd data-testid="webhook-events">{eventTypesLabel(h.event_types)}</dd>
        </div>
        {h.created_at && (
          <div>
            <dt>Added</dt>
            <dd>{formatWhen(h.created_at)}</dd>
          </div>
        )}
      </dl>
      {notice && (
        <div className={state === 'disabled' ? 'dev-notice dev-notice-quiet' : 'dev-notice'} data-testid="webhook-notice">
          <p>{notice}</p>
        </div>
      )}
      <div className="row dev-actions" role="group" aria-label={`Actions for ${h.url}`}>
        <span className="dev-switch">
          <input
            id={ids.toggle}
            type="checkbox"
            role="switch"
            checked={props.enabled}
            disabled={busy !== null}
            onChange={(e) => props.onEnabled(e.target.checked)}
          />
          <label htmlFor={ids.toggle}>
            Enabled<span className="visually-hidden"> ({h.url})</span>
          </label>
        </span>
        <button
          type="button"
          className="btn btn-small"
          aria-expanded={props.open}
          aria-controls={props.open ? ids.deliveries : undefined}
          aria-label={`Deliveries of ${h.url}`}
          onClick={props.onToggleDeliveries}
        >
          Deliveries
        </button>
        <button
          ref={editButton}
          data-action="edit"
          type="button"
          className="btn btn-small"
          aria-expanded={props.editing}
          aria-controls={props.editing ? ids.edit : undefined}
          aria-label={`Edit ${h.url}`}
          disabled={busy !== null}
          onClick={props.onEdit}
        >
          Edit
        </button>
        <button
          ref={rotateButton}
          type="button"
          className="btn btn-small"
          aria-label={`Rotate the secret of ${h.url}`}
          disabled={busy !== null || props.confirm !== null}
          onClick={() => props.onAsk('rotate')}
        >
          Rotate secret
        </button>
        <button
          ref={deleteButton}
          type="button"
          className="btn btn-small btn-danger"
          aria-label={`Delete ${h.url}`}
          disabled={busy !== null || props.confirm !== null}
          onClick={() => props.onAsk('delete')}
        >
          Delete
        </button>
      </div>
      {props.confirm === 'rotate' && (
        <ConfirmDialog
          text="Make a new signing secret? Deliveries are signed with both the old and the new secret for 24 hours, then with the new one only: update your server within a day."
          confirmLabel="Yes, rotate it"
          busyLabel="Rotating…"
          danger={false}
          busy={busy === `${h.id}:rotate`}
          confirmTestId="webhook-rotate-confirm"
          onConfirm={props.onConfirm}
          onCancel={cancel}
        />
      )}
      {props.confirm === 'delete' && (
        <ConfirmDialog
          text={`Delete the endpoint ${h.url}? Nothing more is sent to it, and its delivery log is deleted too. This cannot be undone.`}
          confirmLabel="Yes, delete it"
          busyLabel="Deleting…"
          cancelLabel="Keep it"
          busy={busy === `${h.id}:delete`}
          confirmTestId="webhook-delete-confirm"
          onConfirm={props.onConfirm}
          onCancel={cancel}
        />
      )}
      {props.error && <ErrorMessage message={props.error} />}
      {editForm && (
        <div id={ids.edit} className="dev-edit">
          {editForm}
        </div>
      )}
      {props.deliveries && (
        <div id={ids.deliveries} className="dev-deliveries-wrap">
          {props.deliveries}
        </div>
      )}
    </li>
  );
}

const DELIVERY_BADGE: Record<string, string> = { succeeded: 'badge badge-ok', failed: 'badge badge-failed', pending: 'badge dest-badge-busy' };

function Deliveries({ api, endpoint, initial }: { api: ApiClient; endpoint: WebhookEndpoint; initial?: WebhookDelivery[] }) {
  const ids = { title: useId() };
  const list = useAsync(() => (initial ? Promise.resolve({ deliveries: initial }) : api.webhookDeliveries(endpoint.id, DELIVERIES_LIMIT)), [api, endpoint.id]);
  const items = list.status === 'ready' ? (list.data?.deliveries ?? []) : (initial ?? []);
  const loaded = list.status === 'ready' || (list.status === 'loading' && !!initial);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  async function redeliver(d: WebhookDelivery) {
    setBusy(d.id);
    setError(null);
    setDone(null);
    try {
      const r = await api.redeliver(endpoint.id, d.id);
      list.set({ deliveries: replaceDelivery(items, r) });
      setDone(`${d.event_type} goes out again in a moment, with the same webhook-id. Refresh to see how it went.`);
    } catch (e) {
      setError(`Could not redeliver it: ${webhookErrorText(e)}`);
      if (e instanceof ApiError && e.code === 'delivery_not_found') list.reload();
    } finally {
      setBusy(null);
    }
  }

  return (
    <section className="dev-deliveries" aria-labelledby={ids.title} data-testid="webhook-deliveries">
      <div className="page-head">
        <h4 id={ids.title}>Deliveries</h4>
        <button type="button" className="btn btn-small" aria-label={`Refresh the deliveries of ${endpoint.url}`} onClick={list.reload}>
          Refresh
        </button>
      </div>
      <p className="small muted">
        The latest {DELIVERIES_LIMIT}, newest first. A delivery succeeds when your server answers 2xx; otherwise it is tried again later, in order.
      </p>
      {done && (
        <p className="alert alert-info" role="status">
          {done}
        </p>
      )}
      {error && <ErrorMessage message={error} />}
      {list.status === 'loading' && !initial && <Loading label="Loading the deliveries…" />}
      {list.status === 'error' && <ErrorMessage message={`Could not load the deliveries: ${list.error}`} onRetry={list.reload} />}
      {loaded && items.length === 0 && (
        <Empty>No deliveries yet. They appear here as things happen in the events you host{endpoint.enabled ? '' : ' (while the endpoint is on)'}.</Empty>
      )}
      {items.length > 0 && (
        <ul className="panel-list delivery-list">
          {items.map((d) => (
            <li key={d.id} data-testid="delivery" data-delivery-id={d.id} data-state={d.state}>
              <div className="dev-head">
                <span className={DELIVERY_BADGE[d.state] ?? 'badge'} data-testid="delivery-state">
                  {deliveryStateLabel(d.state)}
                </span>
                <span className="mono">{d.event_type}</span>
                <span className="small">
                  {d.attempts} {d.attempts === 1 ? 'attempt' : 'attempts'}
                </span>
                {d.created_at && (
                  <time className="small muted" dateTime={d.created_at}>
                    {formatWhen(d.created_at)}
                  </time>
                )}
              </div>
              <p className="small delivery-summary">{deliverySummary(d)}</p>
              <details className="delivery-details">
                <summary>Payload and attempts</summary>
                <h5>Attempts</h5>
                {d.log.length === 0 ? (
                  <p className="small muted">Not tried yet.</p>
                ) : (
                  <ol className="delivery-log small">
                    {d.log.map((a, i) => (
                      <li key={i}>
                        {a.at && (
                          <>
                            <time dateTime={a.at}>{formatWhen(a.at)}</time>
                            {' — '}
                          </>
                        )}
                        {attemptText(a)}
                      </li>
                    ))}
                  </ol>
                )}
                <h5>Payload</h5>
                <pre className="payload" tabIndex={0} aria-label={`Payload of the ${d.event_type} delivery`}>
                  {prettyPayload(d.payload)}
                </pre>
                <p className="small muted">
                  webhook-id <span className="mono">{d.message_id}</span>
                </p>
              </details>
              {(d.state !== 'pending' || d.attempts > 0) && (
                <div className="row">
                  <button
                    type="button"
                    className="btn btn-small"
                    aria-label={`${d.state === 'pending' ? 'Try now' : 'Redeliver'}: ${d.event_type}${d.created_at ? ` of ${formatWhen(d.created_at)}` : ''}`}
                    disabled={busy !== null}
                    onClick={() => void redeliver(d)}
                  >
                    {busy === d.id ? 'Sending…' : d.state === 'pending' ? 'Try now' : 'Redeliver'}
                  </button>
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
