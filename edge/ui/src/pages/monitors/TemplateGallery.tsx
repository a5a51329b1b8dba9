/**
 * Ready-made monitors (incloud/monitors/templates.ts) turned on in one click: a card per template; choosing one
 * (`template` in the URL) opens its short form, where workloads, resources, services and namespaces are picked
 * from what the cluster really serves (the services list of the page's time range) rather than typed.
 */
import { type FormEvent, useEffect, useMemo, useRef, useState } from 'react';
import { clusterData } from '../../clusterApi.ts';
import type { DataContext } from '../../DataPage.tsx';
import { navigate, setSearchParams, useSearch } from '../../router.ts';
import { ErrorNote } from '../../ui.tsx';
import { useAction } from '../../useAction.ts';
import { useLoad } from '../../useLoad.ts';
import { redRangeQueries } from '../services/redPromQL.ts';
import { monitorsPath } from './MonitorsPage.tsx';
import { type MonitorTemplate, monitorsApi, type TargetView, TEMPLATE_NAME } from './monitorsApi.ts';

const ICONS: Record<string, string> = {
  'workload-error-rate': '⚠',
  'resource-p99-latency': '◷',
  'pod-restarts': '↻',
  'failed-scheduling': '⌛',
  'error-log-burst': '☰',
};

export function TemplateGallery({ ctx, compact }: { ctx: DataContext; compact: boolean }) {
  const { ref } = ctx;
  const chosen = new URLSearchParams(useSearch()).get('template');
  const templates = useLoad(() => monitorsApi.templates(ref), ref.clusterId);
  // Open when there is no monitor yet, until the user toggles it.
  const [toggled, setOpen] = useState<boolean | null>(null);
  const open = toggled ?? !compact;
  const list = templates.data?.templates ?? [];
  const template = list.find((t) => t.id === chosen);
  if (templates.error) return <ErrorNote error={templates.error} />;
  if (!templates.data) return null;
  return (
    <section
      className={open || template ? 'card panel mon-gallery' : 'card panel mon-gallery collapsed'}
      aria-labelledby="templates-h"
    >
      <div className="section-head">
        <h2 id="templates-h">Ready-made monitors</h2>
        {compact ? (
          <button
            type="button"
            className="btn btn-ghost btn-sm"
            aria-expanded={open || template !== undefined}
            onClick={() => setOpen(!(open || template !== undefined))}
          >
            {open || template ? 'Hide' : `Show ${list.length}`}
          </button>
        ) : null}
      </div>
      {open || template ? (
        <>
          <p className="muted">Turn on the alerts most teams start with: pick what to watch, and it runs.</p>
          <div className="mon-templates">
            {list.map((t) => (
              <button
                key={t.id}
                type="button"
                className={t.id === chosen ? 'mon-template active' : 'mon-template'}
                aria-pressed={t.id === chosen}
                onClick={() => setSearchParams({ template: t.id === chosen ? null : t.id })}
              >
                <span className="mon-template-icon" aria-hidden="true">
                  {ICONS[t.id] ?? '◆'}
                </span>
                <span className="strong">{t.name}</span>
                <span className="muted">{t.description}</span>
              </button>
            ))}
          </div>
          {template ? <TemplateForm ctx={ctx} template={template} key={template.id} /> : null}
        </>
      ) : null}
    </section>
  );
}

function TemplateForm({ ctx, template }: { ctx: DataContext; template: MonitorTemplate }) {
  const { ref, range, org } = ctx;
  const names = template.params.map((p) => p.name);
  const wantsWorkload = names.includes('workload');
  const services = useLoad(() => clusterData.services(ref, range), `${ref.clusterId}|${range.key}`);
  const targets = useLoad(() => monitorsApi.targets(ref), ref.clusterId);
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(
      template.params.filter((p) => p.default !== undefined).map((p) => [p.name, p.default!]),
    ),
  );
  const [chosenTargets, setChosenTargets] = useState<string[]>([]);
  const { busy, error, run } = useAction();
  const first = useRef<HTMLSelectElement>(null);
  useEffect(() => first.current?.focus(), []);

  const workloads = useMemo(
    () =>
      (services.data?.services ?? [])
        .map((s) => ({ namespace: s.namespace, workload: s.workload }))
        .sort((a, b) => `${a.namespace}/${a.workload}`.localeCompare(`${b.namespace}/${b.workload}`)),
    [services.data],
  );
  const namespaces = useMemo(() => [...new Set(workloads.map((w) => w.namespace))].sort(), [workloads]);
  const wantsResource = names.includes('resource');
  const ns = values.namespace ?? '';
  const wl = values.workload ?? '';
  const resources = useLoad(
    async () =>
      wantsResource && ns && wl ? (await clusterData.resources(ref, range, ns, wl)).resources : [],
    `${ref.clusterId}|${range.key}|${ns}|${wl}|${wantsResource}`,
  );
  const set = (k: string, v: string) =>
    setValues((old) => {
      const next = { ...old };
      if (v === '') delete next[k];
      else next[k] = v;
      return next;
    });

  // The template API takes plain names only: a templated path such as /api/orders/{id} becomes a custom PromQL
  // monitor instead, built the way the services page charts the same resource, and opened in the editor.
  const customResource =
    template.id === 'resource-p99-latency' &&
    values.resource !== undefined &&
    !TEMPLATE_NAME.test(values.resource);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (customResource) {
      const where = { namespace: ns, workload: wl, resource: values.resource! };
      const prefill = new URLSearchParams({
        type: 'promql',
        name: `p99 latency of ${wl} ${values.resource}`,
        query: redRangeQueries('server', where, [], 300).p99,
        op: '>',
        threshold: values.threshold ?? '1',
        for: '5m',
        severity: 'warning',
        labels: JSON.stringify(where),
      });
      setSearchParams({ template: null }, true);
      navigate(`${monitorsPath(org, 'new')}${monitorsPath(org, 'new').includes('?') ? '&' : '?'}${prefill}`);
      return;
    }
    void run(async () => {
      const { monitor } = await monitorsApi.fromTemplate(ref, template.id, values, chosenTargets);
      setSearchParams({ template: null }, true);
      navigate(monitorsPath(org, `m/${encodeURIComponent(monitor.id)}`));
    });
  };

  const field = (name: string) => {
    const p = template.params.find((x) => x.name === name)!;
    const label = `${p.name[0]!.toUpperCase()}${p.name.slice(1)}`;
    const hint = <small className="muted">{p.description}</small>;
    if (name === 'workload' || (name === 'namespace' && wantsWorkload)) return null;
    if (name === 'namespace' && namespaces.length > 0)
      return (
        <label className="field" key={name}>
          <span>Namespace</span>
          <select
            aria-label="Namespace"
            value={values.namespace ?? ''}
            onChange={(e) => set('namespace', e.target.value)}
          >
            {p.required ? null : <option value="">Every namespace</option>}
            {namespaces.map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
          {hint}
        </label>
      );
    if (name === 'service' && workloads.length > 0)
      return (
        <label className="field" key={name}>
          <span>Service</span>
          <select
            aria-label="Service"
            value={values.service ?? ''}
            onChange={(e) => set('service', e.target.value)}
          >
            {p.required ? null : <option value="">Every service</option>}
            {[...new Set(workloads.map((w) => w.workload))].sort().map((w) => (
              <option key={w}>{w}</option>
            ))}
          </select>
          {hint}
        </label>
      );
    if (name === 'resource')
      return (
        <label className="field grow" key={name}>
          <span>Resource</span>
          <select
            aria-label="Resource"
            required
            value={values.resource ?? ''}
            disabled={!wl}
            onChange={(e) => set('resource', e.target.value)}
          >
            <option value="">{wl ? 'Choose a resource…' : 'Choose a workload first'}</option>
            {(resources.data ?? []).map((r) => {
              const ok = TEMPLATE_NAME.test(r.resource);
              return (
                <option key={`${r.method} ${r.resource}`} value={r.resource}>
                  {r.method ? `${r.method} ` : ''}
                  {r.resource}
                  {ok ? '' : ' (opens as a custom PromQL monitor)'}
                </option>
              );
            })}
          </select>
          {hint}
        </label>
      );
    const numeric = name === 'threshold';
    return (
      <label className="field" key={name}>
        <span>{label}</span>
        <input
          name={name}
          required={p.required}
          inputMode={numeric ? 'decimal' : undefined}
          pattern={numeric ? '-?[0-9]+(\\.[0-9]+)?' : TEMPLATE_NAME.source.slice(1, -1)}
          placeholder={p.default}
          value={values[name] ?? ''}
          onChange={(e) => set(name, e.target.value)}
        />
        {hint}
      </label>
    );
  };

  return (
    <form className="mon-template-form form" onSubmit={submit} aria-label={`Turn on ${template.name}`}>
      <h3>{template.name}</h3>
      <div className="row">
        {wantsWorkload ? (
          <div className="field grow">
            <span>Workload</span>
            {workloads.length > 0 ? (
              <select
                ref={first}
                aria-label="Workload"
                required
                value={ns && wl ? `${ns}/${wl}` : ''}
                onChange={(e) => {
                  const [n = '', w = ''] = e.target.value.split('/');
                  setValues((old) => {
                    const { resource: _r, ...rest } = old;
                    return { ...rest, namespace: n, workload: w };
                  });
                }}
              >
                <option value="">Choose a workload…</option>
                {workloads.map((w) => (
                  <option key={`${w.namespace}/${w.workload}`} value={`${w.namespace}/${w.workload}`}>
                    {w.workload} ({w.namespace})
                  </option>
                ))}
              </select>
            ) : (
              <span className="mon-pair">
                <input
                  aria-label="Namespace"
                  required
                  placeholder="namespace"
                  value={ns}
                  onChange={(e) => set('namespace', e.target.value)}
                />
                <input
                  aria-label="Workload name"
                  required
                  placeholder="workload"
                  value={wl}
                  onChange={(e) => set('workload', e.target.value)}
                />
              </span>
            )}
            <small className="muted">
              {services.loading && !services.data
                ? 'Reading the services of the cluster…'
                : workloads.length > 0
                  ? 'Services seen in the selected time range.'
                  : 'No traffic seen in the selected time range: type the names.'}
            </small>
          </div>
        ) : null}
        {template.params.map((p) => field(p.name))}
      </div>
      <TargetChecks
        targets={targets.data?.targets ?? []}
        chosen={chosenTargets}
        onChange={setChosenTargets}
      />
      <ErrorNote error={error} />
      <div className="row-actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? 'Turning on…' : customResource ? 'Customize as a PromQL monitor' : 'Turn on monitor'}
        </button>
        <button type="button" className="btn btn-ghost" onClick={() => setSearchParams({ template: null })}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** Checkboxes of the cluster's notification targets. */
export function TargetChecks(props: {
  targets: TargetView[];
  chosen: string[];
  onChange: (ids: string[]) => void;
}) {
  const { targets, chosen, onChange } = props;
  return (
    <fieldset className="mon-targets-pick">
      <legend>Notify</legend>
      {targets.length === 0 ? (
        <span className="muted">
          No notification targets yet: alerts are recorded and shown here. Add a webhook or Slack target under
          Notification targets.
        </span>
      ) : (
        targets.map((t) => (
          <label key={t.id} className="check">
            <input
              type="checkbox"
              checked={chosen.includes(t.id)}
              onChange={(e) =>
                onChange(e.target.checked ? [...chosen, t.id] : chosen.filter((x) => x !== t.id))
              }
            />
            {t.name}{' '}
            <span className="muted">
              ({t.type}, {t.host})
            </span>
          </label>
        ))
      )}
    </fieldset>
  );
}
