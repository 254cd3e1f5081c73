/**
 * Validation of trigger IR: every problem, each with a path (`name/source.schedule: ...`). The
 * builder calls it; so does anything that reads trigger IR from a file.
 */
import { Cron } from 'croner';
import type { Duration, SluiceIssue } from '@sluice/sdk';
import { parseDuration } from '@sluice/sdk';
import { fieldsOf, TRIGGER_IR_VERSION, type ConditionIR, type FieldType, type TriggerIR } from './ir.ts';

/** A duration (seconds as a number, or `'90s'`, `'1h30m'`, `'7d'`) in milliseconds; undefined when malformed. */
export function durationMs(d: Duration): number | undefined {
  const s = parseDuration(d);
  return s === undefined ? undefined : Math.round(s * 1000);
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Problem with a cron pattern and time zone, or undefined. Five fields, as Argo's CronWorkflow reads them. */
export function cronProblem(cron: string, timezone: string): string | undefined {
  if (typeof timezone !== 'string' || timezone === '') return 'a time zone is required (for example "Etc/UTC" or "Europe/Berlin")';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    return `unknown time zone "${timezone}" (an IANA name such as "Europe/Berlin")`;
  }
  const fields = typeof cron === 'string' ? cron.trim().split(/\s+/) : [];
  if (fields.length !== 5) return `cron "${cron}" must have five fields (minute hour day-of-month month day-of-week), found ${fields.length}`;
  try {
    new Cron(cron, { timezone, paused: true });
  } catch (e) {
    return `cron "${cron}": ${(e as Error).message.replace(/^CronPattern: /, '')}`;
  }
  return undefined;
}

function paramAccepts(paramType: string, field: FieldType): boolean {
  if (paramType === 'any') return true;
  if (paramType === 'number') return field === 'number' || field === 'integer';
  return paramType === field;
}

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

export function validateTriggerIR(ir: TriggerIR): SluiceIssue[] {
  const issues: SluiceIssue[] = [];
  const name = typeof ir?.name === 'string' && ir.name ? ir.name : '<unnamed>';
  const at = (path: string, code: string, message: string) => issues.push({ code, path: `${name}/${path}`, message });
  if (ir.kind !== 'trigger') at('kind', 'trigger.kind', `expected kind "trigger", found ${JSON.stringify(ir.kind)}`);
  if (ir.irVersion !== TRIGGER_IR_VERSION) at('irVersion', 'trigger.version', `trigger IR version ${String(ir.irVersion)} is not supported (this version reads ${TRIGGER_IR_VERSION})`);
  if (!DNS_LABEL.test(name) || name.length > 40) at('name', 'trigger.name', `name "${name}" must be lower-case letters, digits and '-', at most 40 characters (it names Argo objects)`);

  const s = ir.source;
  const sp = `source.${s.kind}`;
  const fields = fieldsOf(s);
  if (s.kind === 'schedule' || s.kind === 'monitor') {
    const p = cronProblem(s.cron, s.timezone);
    if (p) at(sp, 'source.cron', p);
    if (!Number.isFinite(s.catchUpMs) || s.catchUpMs < 0) at(`${sp}.catchUp`, 'source.catchUp', 'catch-up window must be a duration such as "10m" or a number of seconds ≥ 0');
  }
  if (s.kind === 'data') {
    const l = s.location;
    if (l.kind === 'directory' && !l.path) at(`${sp}.directory`, 'source.path', 'directory path is empty');
    if (l.kind === 's3') {
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(l.bucket)) at(`${sp}.s3.bucket`, 'source.bucket', `"${l.bucket}" is not a valid bucket name`);
      if (l.prefix.startsWith('/')) at(`${sp}.s3.prefix`, 'source.prefix', `prefix "${l.prefix}" must not start with "/"`);
      if (l.endpoint !== undefined && !/^https?:\/\/[^/\s:]+(:\d{1,5})?\/?$/.test(l.endpoint)) at(`${sp}.s3.endpoint`, 'source.endpoint', `endpoint "${l.endpoint}" must be http://host:port or https://host:port`);
      if (typeof l.credentials !== 'object' || l.credentials === null) at(`${sp}.s3.credentials`, 'source.credentials', 'credentials are missing (trigger IR written by an older version: define the trigger again)');
      else {
        for (const k of ['accessKeyEnv', 'secretKeyEnv'] as const) if (typeof l.credentials[k] !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(l.credentials[k])) at(`${sp}.s3.credentials.${k}`, 'source.credentials', `"${String(l.credentials[k])}" is not an environment variable name`);
        if (typeof l.credentials.secret !== 'string' || !DNS_LABEL.test(l.credentials.secret)) at(`${sp}.s3.credentials.secret`, 'source.credentials', `"${String(l.credentials.secret)}" is not a Kubernetes Secret name`);
      }
      if (!(l.pollMs >= 1000)) at(`${sp}.s3.poll`, 'source.poll', 'poll must be a duration of at least 1s');
    }
    if (l.kind === 'webhook') {
      if (!/^\/[A-Za-z0-9/_-]*$/.test(l.endpoint)) at(`${sp}.webhook.endpoint`, 'source.endpoint', `endpoint "${l.endpoint}" must be a URL path such as "/new-data"`);
      for (const [f, t] of Object.entries(l.fields)) if (!['string', 'number', 'integer', 'boolean'].includes(t)) at(`${sp}.webhook.fields.${f}`, 'source.fieldType', `field type must be string, number, integer or boolean, found "${String(t)}"`);
    }
  }
  if (s.kind === 'upstream') {
    if (!s.pipeline) at(`${sp}.pipeline`, 'source.pipeline', 'upstream pipeline name is empty');
    if (s.statuses.length === 0) at(`${sp}.statuses`, 'source.statuses', 'give at least one status (succeeded, failed, interrupted)');
    for (const st of s.statuses) if (!['succeeded', 'failed', 'interrupted'].includes(st)) at(`${sp}.statuses`, 'source.statuses', `unknown status "${st}" (succeeded, failed, interrupted)`);
  }
  if (s.kind === 'monitor' && s.check.kind === 'drift') {
    const d = s.check.spec;
    const dp = `${sp}.drift`;
    if (!['psi', 'ks', 'js', 'wasserstein'].includes(d.statistic)) at(`${dp}.statistic`, 'drift.statistic', `statistic must be psi, ks, js or wasserstein, found "${d.statistic}"`);
    if (!(d.threshold > 0)) at(`${dp}.threshold`, 'drift.threshold', `threshold must be > 0, found ${d.threshold}`);
    if (!(d.alpha > 0 && d.alpha < 1)) at(`${dp}.alpha`, 'drift.alpha', `alpha must be between 0 and 1, found ${d.alpha}`);
    if (!Number.isInteger(d.bins) || d.bins < 2 || d.bins > 100) at(`${dp}.bins`, 'drift.bins', `bins must be an integer from 2 to 100, found ${d.bins}`);
    if (d.features.length === 0) at(`${dp}.features`, 'drift.features', 'name at least one feature');
    const seen = new Set<string>();
    for (const f of d.features) {
      if (seen.has(f.name)) at(`${dp}.features`, 'drift.features', `feature "${f.name}" is listed twice`);
      seen.add(f.name);
    }
    if (!Number.isInteger(s.check.current.window) || s.check.current.window < 1) at(`${dp}.current.window`, 'drift.window', `window must be a positive number of rows, found ${s.check.current.window}`);
    if (s.check.reference.kind === 'lineage' && !(s.check.reference.param in ir.target.params))
      at(`${dp}.reference.lineage`, 'drift.reference', `the target ${ir.target.pipeline} has no parameter "${s.check.reference.param}" to take the reference from (it has ${Object.keys(ir.target.params).join(', ') || 'none'})`);
  }
  if (s.kind === 'monitor' && s.check.kind === 'metric' && !s.check.output) at(`${sp}.metric.output`, 'metric.output', 'name the output to read');

  const checkCondition = (c: ConditionIR, path: string) => {
    if (c.kind === 'and' || c.kind === 'or') c.conditions.forEach((x, i) => checkCondition(x, `${path}.${c.kind}[${i}]`));
    else if (c.kind === 'not') checkCondition(c.condition, `${path}.not`);
    else {
      const t = fields[c.field];
      if (!t) return at(path, 'condition.field', `unknown field "${c.field}" (${s.kind} events carry ${Object.keys(fields).join(', ')})`);
      if (c.kind === 'matches') {
        if (t !== 'string') at(path, 'condition.type', `"${c.field}" is a ${t}; matches needs a string field`);
        try { new RegExp(c.pattern); } catch (e) { at(path, 'condition.pattern', `invalid pattern: ${(e as Error).message}`); }
      } else {
        const vt = jsonType(c.value);
        if (!paramAccepts(t === 'integer' ? 'number' : t, vt as FieldType)) at(path, 'condition.type', `"${c.field}" is a ${t}, compared with a ${vt}`);
        if (['<', '<=', '>', '>='].includes(c.op) && t !== 'number' && t !== 'integer') at(path, 'condition.type', `"${c.field}" is a ${t}; ${c.op} needs a number field`);
      }
    }
  };
  if (ir.condition) checkCondition(ir.condition, 'when');

  const params = ir.target.params;
  for (const [p, v] of Object.entries(ir.mapping)) {
    const spec = params[p];
    const path = `params.${p}`;
    if (!spec) { at(path, 'mapping.unknown', `${ir.target.pipeline} has no parameter "${p}" (it has ${Object.keys(params).join(', ') || 'none'})`); continue; }
    const want = spec.kind === 'artifact' ? 'string' : spec.type;
    if (v.kind === 'field') {
      const t = fields[v.field];
      if (!t) at(path, 'mapping.field', `unknown field "${v.field}" (${s.kind} events carry ${Object.keys(fields).join(', ')})`);
      else if (!paramAccepts(want, t)) at(path, 'mapping.type', `field "${v.field}" is a ${t}, parameter "${p}" is ${want === 'integer' ? 'an' : 'a'} ${want}`);
    } else {
      const t = jsonType(v.value);
      const ok = want === 'any' || t === want || (want === 'number' && t === 'integer') || (want === 'object' && t === 'object');
      if (!ok) at(path, 'mapping.type', `constant ${JSON.stringify(v.value)} is ${t === 'integer' ? 'an' : 'a'} ${t}, parameter "${p}" is ${want === 'integer' ? 'an' : 'a'} ${want}`);
    }
  }
  for (const [p, spec] of Object.entries(params)) {
    if (!spec.optional && !(p in ir.mapping)) at(`params.${p}`, 'mapping.missing', `parameter "${p}" of ${ir.target.pipeline} has no default: map an event field or a constant to it`);
  }

  const pol = ir.policy;
  if (pol.dedupe.length === 0) at('policy.dedupe', 'policy.dedupe', s.kind === 'data' && s.location.kind === 'webhook' ? `a webhook trigger has no default dedupe key: give policy.dedupe, the fields that identify one call (its events carry ${Object.keys(fields).join(', ')})` : 'name at least one field for the dedupe key');
  for (const f of pol.dedupe) if (!fields[f]) at('policy.dedupe', 'policy.dedupe', `unknown field "${f}" (${s.kind} events carry ${Object.keys(fields).join(', ')})`);
  if (!Number.isFinite(pol.cooldownMs) || pol.cooldownMs < 0) at('policy.cooldown', 'policy.cooldown', 'cooldown must be a duration such as "30m" or a number of seconds ≥ 0');
  if (!['allow', 'skip', 'queue', 'replace'].includes(pol.concurrency)) at('policy.concurrency', 'policy.concurrency', `concurrency must be allow, skip, queue or replace, found "${pol.concurrency}"`);
  if (pol.maxFires) {
    if (!Number.isInteger(pol.maxFires.count) || pol.maxFires.count < 1) at('policy.maxFires.count', 'policy.maxFires', `count must be a positive integer, found ${pol.maxFires.count}`);
    if (!(pol.maxFires.windowMs > 0)) at('policy.maxFires.window', 'policy.maxFires', 'window must be a duration > 0 such as "1d"');
  }
  if (pol.hysteresis) {
    const h = pol.hysteresis;
    if (s.kind !== 'monitor') at('policy.hysteresis', 'policy.hysteresis', `hysteresis applies to monitor triggers, not ${s.kind}`);
    else if (s.direction === 'above' ? h.low > h.high : h.low < h.high) at('policy.hysteresis', 'policy.hysteresis', s.direction === 'above' ? `low (${h.low}) must not exceed high (${h.high})` : `for a falling metric low (${h.low}) must not be below high (${h.high})`);
    if (!Number.isInteger(h.evaluations) || h.evaluations < 1) at('policy.hysteresis.evaluations', 'policy.hysteresis', `evaluations must be a positive integer, found ${h.evaluations}`);
  }
  if (pol.maxDepth !== null && (!Number.isInteger(pol.maxDepth) || pol.maxDepth < 1)) at('policy.maxDepth', 'policy.maxDepth', `maxDepth must be a positive integer, found ${pol.maxDepth}`);
  return issues;
}

/**
 * Checks a set of triggers together: unique names, and no chain of upstream triggers that returns
 * to its start (pipeline a's run fires b, b's fires a) unless one trigger on it declares `maxDepth`.
 */
export function validateTriggerSet(irs: readonly TriggerIR[]): SluiceIssue[] {
  const issues: SluiceIssue[] = [];
  const seen = new Set<string>();
  for (const t of irs) {
    if (seen.has(t.name)) issues.push({ code: 'trigger.duplicate', path: `${t.name}/name`, message: `two triggers are named "${t.name}"` });
    seen.add(t.name);
  }
  // edges: upstream pipeline --trigger--> target pipeline
  const out = new Map<string, TriggerIR[]>();
  for (const t of irs) if (t.source.kind === 'upstream') out.set(t.source.pipeline, [...(out.get(t.source.pipeline) ?? []), t]);
  const reported = new Set<string>();
  const walk = (pipeline: string, path: TriggerIR[], start: string) => {
    for (const t of [...(out.get(pipeline) ?? [])].sort((a, b) => a.name.localeCompare(b.name))) {
      if (path.includes(t)) continue;
      const next = [...path, t];
      if (t.target.pipeline === start) {
        const key = next.map((x) => x.name).sort().join(',');
        if (reported.has(key) || next.some((x) => x.policy.maxDepth !== null)) continue;
        reported.add(key);
        const chain = [start, ...next.map((x) => `${x.target.pipeline} (by ${x.name})`)].join(' -> ');
        issues.push({ code: 'trigger.cycle', path: `${next[0]!.name}/source.upstream`, message: `triggers form a cycle: ${chain}; declare policy.maxDepth on one of them to allow it` });
      } else walk(t.target.pipeline, next, start);
    }
  };
  for (const p of [...out.keys()].sort()) walk(p, [], p);
  return issues;
}
