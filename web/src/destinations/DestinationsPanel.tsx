// The studio's "Destinations" panel (host and co-hosts): restream the event to YouTube, Twitch,
// Facebook or any RTMP(S) server. Lists the event's destinations with their state, bitrate,
// uptime, retries and what to do when one fails; Start / Stop, "Start when I go live" and Remove
// on each; a form that saves a new destination (the stream key is entered once) and adds it to the
// event; and my saved destinations not in the event yet, to add with one click.
import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { ErrorMessage } from '../components/ui';
import { ApiError, type ApiClient, errorText } from '../lib/api';
import {
  type DestinationField,
  type DestinationForm,
  PLATFORMS,
  destinationErrorText,
  destinationInput,
  destinationProblem,
  destinationStateLabel,
  destinationTone,
  emptyForm,
  fieldOfCode,
  formErrors,
  formatBitrate,
  formatUptime,
  isPlatform,
  isPushing,
  platformInfo,
  platformLabel,
  retriesText,
  serverEditable,
  unattached,
  uptimeMs,
  defaultServer,
} from '../lib/destinations';
import { useAsync, useNow } from '../lib/hooks';
import type { Destination, EventDestination, EventStatus } from '../lib/types';
import { useDestinations } from '../lib/useDestinations';
import type { FrameListener } from '../lib/useLiveChat';

interface Props {
  api: ApiClient;
  eventId: string;
  status: EventStatus;
  subscribe?: (l: FrameListener) => () => void;
  /** The event's destinations to show before (or instead of) loading them: for tests. */
  initial?: EventDestination[];
  /** My saved destinations, likewise. */
  initialSaved?: Destination[];
}

type Confirm = { kind: 'remove' | 'delete'; id: string } | null;

function Uptime({ d }: { d: EventDestination }) {
  const now = useNow(1000, d.state === 'live');
  const ms = uptimeMs(d, now);
  if (ms === null) return null;
  return (
    <span className="small" data-testid="destination-uptime">
      live for <span className="mono dest-number">{formatUptime(ms)}</span>
    </span>
  );
}

function DestinationRow(props: {
  d: EventDestination;
  eventLive: boolean;
  busy: string | null;
  /** The auto-start value being saved (shown at once), or null. */
  pendingAuto: boolean | null;
  confirm: boolean;
  error: string | null;
  onToggle: () => void;
  onAutoStart: (on: boolean) => void;
  onAskRemove: () => void;
  onRemove: () => void;
  onCancel: () => void;
}) {
  const { d, busy } = props;
  const id = d.destination.id;
  const ids = { auto: useId() };
  const name = d.destination.name || platformLabel(d.destination.platform);
  const pushing = isPushing(d.state);
  const tone = destinationTone(d.state);
  const problem = destinationProblem(d);
  const retries = retriesText(d);
  const bitrate = d.state === 'live' ? formatBitrate(d.bitrate_bps) : '';
  let toggleLabel = pushing ? 'Stop' : 'Start';
  if (busy === `${id}:toggle`) toggleLabel = pushing ? 'Stopping…' : 'Starting…';
  return (
    <li data-testid="destination-row" data-destination-id={id} data-state={d.state} className={`dest-row dest-${tone}`}>
      <div className="dest-head">
        <strong>{name}</strong>
        {name !== platformLabel(d.destination.platform) && <span className="small muted">{platformLabel(d.destination.platform)}</span>}
        <span className={`badge dest-badge dest-badge-${tone}`} data-testid="destination-state" data-state={d.state} aria-live="polite">
          {destinationStateLabel(d.state)}
        </span>
        {bitrate && (
          <span className="small" data-testid="destination-bitrate">
            <span className="mono dest-number">{bitrate}</span>
          </span>
        )}
        <Uptime d={d} />
        {retries && (
          <span className="small muted" data-testid="destination-retries">
            {retries}
          </span>
        )}
      </div>
      <dl className="dest-meta small">
        <div>
          <dt>Server</dt>
          <dd className="mono">{d.destination.server_url}</dd>
        </div>
        <div>
          <dt>Stream key</dt>
          <dd className="mono">{d.destination.key_hint}</dd>
        </div>
      </dl>
      {problem && (
        <div className="dest-problem" data-testid="destination-error" data-code={d.error_code || undefined}>
          <p>{problem.reason}</p>
          <p>
            <strong>What to do:</strong> {problem.advice}
          </p>
        </div>
      )}
      <div className="row dest-actions" role="group" aria-label={`Actions for ${name}`}>
        <button
          type="button"
          className={pushing ? 'btn btn-small btn-danger' : 'btn btn-small btn-primary'}
          data-testid="destination-toggle"
          data-pushing={pushing ? 'true' : 'false'}
          aria-label={`${toggleLabel} streaming to ${name}`}
          disabled={busy !== null || (!pushing && !props.eventLive)}
          onClick={props.onToggle}
        >
          {toggleLabel}
        </button>
        <span className="dest-check">
          <input
            id={ids.auto}
            type="checkbox"
            data-testid="destination-auto-start"
            checked={props.pendingAuto ?? d.auto_start}
            disabled={busy !== null}
            onChange={(e) => props.onAutoStart(e.target.checked)}
          />
          <label htmlFor={ids.auto}>
            Start when I go live<span className="visually-hidden"> ({name})</span>
          </label>
        </span>
        <button
          type="button"
          className="btn btn-small btn-danger"
          data-testid="destination-remove"
          aria-label={`Remove ${name} from this event`}
          disabled={busy !== null || props.confirm}
          onClick={props.onAskRemove}
        >
          Remove
        </button>
      </div>
      {props.confirm && (
        <ConfirmDialog
          text={`Remove ${name} from this event?${pushing ? ' It stops streaming there first.' : ''} It stays saved for other events.`}
          confirmLabel="Yes, remove it"
          busyLabel="Removing…"
          cancelLabel="Keep it"
          busy={busy === `${id}:remove`}
          confirmTestId="destination-remove-confirm"
          onConfirm={props.onRemove}
          onCancel={props.onCancel}
        />
      )}
      {props.error && <ErrorMessage message={props.error} />}
    </li>
  );
}

export function DestinationsPanel({ api, eventId, status, subscribe, initial, initialSaved }: Props) {
  const ids = {
    title: useId(),
    addTitle: useId(),
    savedTitle: useId(),
    platform: useId(),
    name: useId(),
    server: useId(),
    key: useId(),
    auto: useId(),
  };
  const dests = useDestinations(api, eventId, { subscribe, initial });
  const saved = useAsync(() => (initialSaved ? Promise.resolve({ destinations: initialSaved }) : api.myDestinations()), [api]);
  const [busy, setBusy] = useState<string | null>(null);
  const [rowError, setRowError] = useState<{ id: string; message: string } | null>(null);
  const [savedError, setSavedError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<Confirm>(null);
  const [pendingAuto, setPendingAuto] = useState<{ id: string; value: boolean } | null>(null);
  const [form, setForm] = useState<DestinationForm>(() => emptyForm());
  const [autoStart, setAutoStart] = useState(true);
  const [showKey, setShowKey] = useState(false);
  const [fieldErrors, setFieldErrors] = useState<Partial<Record<DestinationField, string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const live = status === 'live';
  const savedList = saved.status === 'ready' && Array.isArray(saved.data?.destinations) ? saved.data.destinations : (initialSaved ?? []);
  const available = unattached(savedList, dests.items);
  const info = platformInfo(form.platform) ?? PLATFORMS[0];
  const editable = serverEditable(form.platform);

  // Going live starts the destinations set to start then: read them at once.
  const lastStatus = useRef(status);
  const { refresh } = dests;
  useEffect(() => {
    if (lastStatus.current === status) return;
    lastStatus.current = status;
    setDone(null);
    refresh();
  }, [status, refresh]);

  function clearFeedback() {
    setRowError(null);
    setSavedError(null);
    setDone(null);
  }

  async function rowAction<T>(d: EventDestination, what: string, fn: () => Promise<T>): Promise<T | undefined> {
    const id = d.destination.id;
    setBusy(`${id}:${what}`);
    clearFeedback();
    try {
      return await fn();
    } catch (e) {
      setRowError({ id, message: destinationErrorText(e) });
      dests.refresh();
      return undefined;
    } finally {
      setBusy(null);
    }
  }

  async function toggle(d: EventDestination) {
    const id = d.destination.id;
    const r = await rowAction(d, 'toggle', () => (isPushing(d.state) ? api.stopDestination(eventId, id) : api.startDestination(eventId, id)));
    if (r) dests.applied(r);
  }

  async function setAuto(d: EventDestination, on: boolean) {
    setPendingAuto({ id: d.destination.id, value: on });
    const r = await rowAction(d, 'auto', () => api.setDestinationAutoStart(eventId, d.destination.id, on));
    if (r) dests.applied(r);
    setPendingAuto(null);
  }

  async function remove(d: EventDestination) {
    const id = d.destination.id;
    const name = d.destination.name || platformLabel(d.destination.platform);
    const ok = await rowAction(d, 'remove', async () => {
      try {
        await api.detachDestination(eventId, id);
      } catch (e) {
        // Already detached (by a co-host, say): what we wanted.
        if (!(e instanceof ApiError && e.code === 'not_attached')) throw e;
      }
      return true;
    });
    setConfirm(null);
    if (ok) {
      dests.removed(id);
      setDone(`Removed ${name} from this event. It stays in your saved destinations.`);
      saved.reload();
    }
  }

  async function attach(d: Destination) {
    setBusy(`${d.id}:attach`);
    clearFeedback();
    try {
      const r = await api.attachDestination(eventId, d.id, true);
      dests.applied(r);
      setDone(`Added ${d.name || platformLabel(d.platform)}. ${live ? 'Press Start to stream there.' : 'It starts when you go live.'}`);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'already_attached') dests.refresh();
      else setSavedError(`Could not add ${d.name || platformLabel(d.platform)}: ${destinationErrorText(e)}`);
      if (e instanceof ApiError && e.code === 'destination_not_found') saved.reload();
    } finally {
      setBusy(null);
    }
  }

  async function deleteSaved(d: Destination) {
    setBusy(`${d.id}:delete`);
    clearFeedback();
    try {
      await api.deleteDestination(d.id);
      setDone(`Deleted ${d.name || platformLabel(d.platform)} and its stream key.`);
      if (saved.status === 'ready') saved.set({ destinations: savedList.filter((x) => x.id !== d.id) });
      if (!initialSaved) saved.reload();
    } catch (e) {
      if (e instanceof ApiError && e.code === 'destination_not_found') saved.reload();
      else setSavedError(`Could not delete ${d.name || platformLabel(d.platform)}: ${errorText(e)}`);
    } finally {
      setBusy(null);
      setConfirm(null);
    }
  }

  function setPlatform(value: string) {
    if (!isPlatform(value)) return;
    setForm((f) => ({ ...f, platform: value, server: defaultServer(value) }));
    setFieldErrors({});
    setFormError(null);
  }

  function edit(field: 'name' | 'server' | 'key', value: string) {
    setForm((f) => ({ ...f, [field]: value }));
    if (fieldErrors[field]) setFieldErrors(({ [field]: _gone, ...rest }) => rest);
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    clearFeedback();
    setFormError(null);
    const errors = formErrors(form);
    setFieldErrors(errors);
    const first = (['platform', 'name', 'server', 'key'] as const).find((f) => errors[f]);
    if (first) {
      document.getElementById(ids[first])?.focus();
      return;
    }
    setBusy('add');
    try {
      let created: Destination;
      try {
        created = await api.createDestination(destinationInput(form));
      } catch (err) {
        const field = err instanceof ApiError ? fieldOfCode(err.code) : null;
        if (field) {
          setFieldErrors({ [field]: errorText(err) });
          document.getElementById(ids[field])?.focus();
        } else setFormError(`Could not save the destination: ${errorText(err)}`);
        return;
      }
      const name = created.name || platformLabel(created.platform);
      // Saved: the key leaves the form now, whatever happens next.
      setForm(emptyForm(form.platform));
      setShowKey(false);
      if (!initialSaved) saved.reload();
      try {
        const attached = await api.attachDestination(eventId, created.id, autoStart);
        dests.applied(attached);
        setDone(`Added ${name}. ${live ? 'Press Start to stream there.' : autoStart ? 'It starts when you go live.' : 'Press Start once you are live.'}`);
      } catch (err) {
        setFormError(`Saved ${name}, but could not add it to this event: ${destinationErrorText(err)} It is under "Your saved destinations": add it from there.`);
      }
    } finally {
      setBusy(null);
    }
  }

  const describe = (field: DestinationField, hint?: string) => [fieldErrors[field] ? `${ids[field]}-error` : '', hint ?? ''].filter(Boolean).join(' ') || undefined;
  const fieldError = (field: DestinationField) =>
    fieldErrors[field] ? (
      <span className="field-error" id={`${ids[field]}-error`} data-testid={`destination-${field}-error`}>
        {fieldErrors[field]}
      </span>
    ) : null;

  // Only the event's host and co-hosts restream it (a stage co-host from an invite link is not).
  if (dests.forbidden) return null;

  return (
    <section className="card dest-panel" aria-labelledby={ids.title} data-testid="destinations-panel">
      <div className="page-head">
        <h2 id={ids.title}>Destinations</h2>
        <button type="button" className="btn btn-small" aria-label="Refresh destinations" onClick={dests.refresh} disabled={dests.unsupported}>
          Refresh
        </button>
      </div>
      <p className="small muted">Stream this event to YouTube, Twitch, Facebook or any RTMP server at the same time.</p>
      {dests.unsupported ? (
        <p className="muted small">Restreaming is not available on this server.</p>
      ) : (
        <>
          {done && (
            <p className="alert alert-info" role="status">
              {done}
            </p>
          )}
          {dests.error && <p className="muted small">Could not refresh the destinations: {dests.error}</p>}
          {!dests.loaded && !dests.error && <p className="muted small">Loading the destinations…</p>}
          {dests.loaded && dests.items.length === 0 && <p className="empty">No destinations yet: add one below.</p>}
          {dests.items.length > 0 && (
            <ul className="panel-list dest-list" data-testid="destination-list">
              {dests.items.map((d) => (
                <DestinationRow
                  key={d.destination.id}
                  d={d}
                  eventLive={live}
                  busy={busy}
                  pendingAuto={pendingAuto?.id === d.destination.id ? pendingAuto.value : null}
                  confirm={confirm?.kind === 'remove' && confirm.id === d.destination.id}
                  error={rowError?.id === d.destination.id ? rowError.message : null}
                  onToggle={() => void toggle(d)}
                  onAutoStart={(on) => void setAuto(d, on)}
                  onAskRemove={() => {
                    clearFeedback();
                    setConfirm({ kind: 'remove', id: d.destination.id });
                  }}
                  onRemove={() => void remove(d)}
                  onCancel={() => setConfirm(null)}
                />
              ))}
            </ul>
          )}
          {!live && dests.items.length > 0 && (
            <p className="muted small dest-note">You can start a destination once the event is live; those set to start when you go live start by themselves.</p>
          )}

          {available.length > 0 && (
            <>
              <h3 id={ids.savedTitle}>Your saved destinations</h3>
              <ul className="panel-list dest-list" aria-labelledby={ids.savedTitle} data-testid="saved-destinations">
                {available.map((d) => {
                  const name = d.name || platformLabel(d.platform);
                  return (
                    <li key={d.id} data-testid="saved-destination" data-destination-id={d.id}>
                      <div className="dest-head">
                        <strong>{name}</strong>
                        {name !== platformLabel(d.platform) && <span className="small muted">{platformLabel(d.platform)}</span>}
                        <span className="small mono dest-server">{d.server_url}</span>
                        <span className="small">
                          key <span className="mono">{d.key_hint}</span>
                        </span>
                      </div>
                      <div className="row dest-actions" role="group" aria-label={`Actions for ${name}`}>
                        <button
                          type="button"
                          className="btn btn-small btn-primary"
                          data-testid="destination-attach"
                          aria-label={`Add ${name} to this event`}
                          disabled={busy !== null}
                          onClick={() => void attach(d)}
                        >
                          {busy === `${d.id}:attach` ? 'Adding…' : 'Add to this event'}
                        </button>
                        <button
                          type="button"
                          className="btn btn-small btn-danger"
                          data-testid="destination-delete"
                          aria-label={`Delete ${name}`}
                          disabled={busy !== null || (confirm?.kind === 'delete' && confirm.id === d.id)}
                          onClick={() => {
                            clearFeedback();
                            setConfirm({ kind: 'delete', id: d.id });
                          }}
                        >
                          Delete
                        </button>
                      </div>
                      {confirm?.kind === 'delete' && confirm.id === d.id && (
                        <ConfirmDialog
                          text={`Delete ${name} and its stream key? To use it again you will have to enter the key again.`}
                          confirmLabel="Yes, delete it"
                          busyLabel="Deleting…"
                          cancelLabel="Keep it"
                          busy={busy === `${d.id}:delete`}
                          confirmTestId="destination-delete-confirm"
                          onConfirm={() => void deleteSaved(d)}
                          onCancel={() => setConfirm(null)}
                        />
                      )}
                    </li>
                  );
                })}
              </ul>
            </>
          )}
          {savedError && <ErrorMessage message={savedError} />}
          {saved.status === 'error' && saved.code !== 'route_not_found' && (
            <ErrorMessage message={`Could not load your saved destinations: ${saved.error}`} onRetry={saved.reload} />
          )}

          <h3 id={ids.addTitle}>Add destination</h3>
          <form className="dest-form" aria-labelledby={ids.addTitle} data-testid="destination-add" noValidate onSubmit={(e) => void submit(e)}>
            {formError && <ErrorMessage message={formError} />}
            <div className="field">
              <label htmlFor={ids.platform}>Platform</label>
              <select
                id={ids.platform}
                data-testid="destination-platform"
                value={form.platform}
                aria-invalid={fieldErrors.platform ? true : undefined}
                aria-describedby={describe('platform')}
                onChange={(e) => setPlatform(e.target.value)}
              >
                {PLATFORMS.map((p) => (
                  <option key={p.value} value={p.value}>
                    {p.label}
                  </option>
                ))}
              </select>
              {fieldError('platform')}
            </div>
            <div className="field">
              <label htmlFor={ids.name}>Name (optional)</label>
              <input
                id={ids.name}
                type="text"
                data-testid="destination-name"
                maxLength={80}
                placeholder={info.label}
                value={form.name}
                aria-invalid={fieldErrors.name ? true : undefined}
                aria-describedby={describe('name', `${ids.name}-hint`)}
                onChange={(e) => edit('name', e.target.value)}
              />
              {fieldError('name')}
              <span className="hint" id={`${ids.name}-hint`}>
                Up to 80 characters, to tell your destinations apart. Empty: "{info.label}".
              </span>
            </div>
            <div className="field">
              <label htmlFor={ids.server}>Server URL{form.platform === 'custom' ? '' : editable ? ' (optional)' : ''}</label>
              <input
                id={ids.server}
                type="text"
                inputMode="url"
                autoComplete="off"
                autoCapitalize="off"
                spellCheck={false}
                className="mono"
                data-testid="destination-server"
                readOnly={!editable}
                required={form.platform === 'custom'}
                placeholder={form.platform === 'custom' ? 'rtmp://live.example.com/app' : defaultServer(form.platform)}
                value={form.server}
                aria-invalid={fieldErrors.server ? true : undefined}
                aria-describedby={describe('server', `${ids.server}-hint`)}
                onChange={(e) => edit('server', e.target.value)}
              />
              {fieldError('server')}
              <span className="hint" id={`${ids.server}-hint`}>
                {form.platform === 'custom'
                  ? 'The rtmp:// or rtmps:// address with the application path, without the stream key.'
                  : form.platform === 'twitch'
                    ? "Twitch's main ingest server. You may paste another one from Twitch's list of ingest servers (without the stream key)."
                    : `${info.label}'s ingest server: nothing to change.`}
              </span>
            </div>
            <div className="field dest-key-field">
              <label htmlFor={ids.key}>Stream key</label>
              <div className="row dest-key">
                <input
                  id={ids.key}
                  type={showKey ? 'text' : 'password'}
                  autoComplete="off"
                  autoCapitalize="off"
                  spellCheck={false}
                  className="mono"
                  data-testid="destination-key"
                  required
                  value={form.key}
                  aria-invalid={fieldErrors.key ? true : undefined}
                  aria-describedby={describe('key', `${ids.key}-hint`)}
                  onChange={(e) => edit('key', e.target.value)}
                />
                <button type="button" className="btn btn-small" aria-pressed={showKey} aria-controls={ids.key} onClick={() => setShowKey((s) => !s)}>
                  {showKey ? 'Hide' : 'Show'}
                  <span className="visually-hidden"> the stream key</span>
                </button>
              </div>
              {fieldError('key')}
              <span className="hint" id={`${ids.key}-hint`}>
                Find it in {info.keyWhere}. You enter it once: stagecast stores it encrypted and shows only its last 4 characters.
              </span>
            </div>
            <div className="field dest-check">
              <input id={ids.auto} type="checkbox" checked={autoStart} onChange={(e) => setAutoStart(e.target.checked)} />
              <label htmlFor={ids.auto}>Start when I go live</label>
            </div>
            <button type="submit" className="btn btn-primary" data-testid="destination-submit" disabled={busy !== null}>
              {busy === 'add' ? 'Adding…' : 'Add destination'}
            </button>
          </form>
        </>
      )}
    </section>
  );
}
