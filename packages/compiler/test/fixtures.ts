/** One focused pipeline per compiler feature; each has a golden file under test/golden/. */
import type { PipelineIR } from '@sluice/sdk';
import type { CompileOptions } from '../src/index.ts';
import { a, cmp, collect, cond, ctr, fn, item, lit, loop, out, p, param, pipe, task } from './helpers/ir.ts';

export interface Fixture { readonly ir: PipelineIR; readonly options: CompileOptions }
const base: CompileOptions = { entry: 'pipelines/demo.ts' };

const prep = fn('prep', { n: p('integer') }, { data: a('Dataset'), count: p('integer') });
const train = ctr('train', 'python:3.12-slim', [
  { kind: 'literal', value: 'python' }, { kind: 'literal', value: '-m' }, { kind: 'literal', value: 'train' },
  { kind: 'literal', value: '--data' }, { kind: 'inputPath', input: 'data' },
  { kind: 'concat', parts: [{ kind: 'literal', value: '--epochs=' }, { kind: 'inputValue', input: 'epochs' }] },
  { kind: 'literal', value: '--config' }, { kind: 'inputPath', input: 'config' },
  { kind: 'literal', value: '--model' }, { kind: 'outputPath', output: 'model' },
  { kind: 'literal', value: '--score' }, { kind: 'outputPath', output: 'score' },
], { data: a('Dataset'), epochs: p('integer', { default: 3 }), config: p('object') }, { model: a('Model'), score: p('number') });
const report = fn('report', { score: p('number'), note: p('string', { optional: true }) }, {});
const square = fn('square', { x: p('number') }, { y: p('number') });
const sum = fn('sum', { xs: p('array') }, { total: p('number'), parts: p('array') });
const fit = fn('fit', { data: a('Dataset'), lr: p('number') }, { model: a('Model'), metrics: a('Metrics'), score: p('number') });
const best = fn('best', { models: a('Model', true), metrics: a('Metrics', true), scores: p('array') }, { model: a('Model'), name: p('string') });
const serve = fn('serve', { model: a('Model'), name: p('string') }, { report: a('Artifact') });
const cached = { cache: { enabled: true } } as const;

export const fixtures: Record<string, Fixture> = {
  basic: {
    ir: pipe('basic', { h1: prep, h2: train, h3: report }, [
      task('prep', 'h1', { n: param('n') }),
      task('train', 'h2', { data: out('prep', 'data'), config: lit({ lr: 0.1, layers: [64, 64] }) }),
      task('report', 'h3', { score: out('train', 'score') }, { after: ['prep'] }),
    ], { params: { n: p('integer', { default: 100, description: 'rows to sample' }) } }),
    options: base,
  },
  condition: {
    ir: pipe('condition', { h1: prep, h3: report, h4: square }, [
      task('prep', 'h1', { n: lit(10) }),
      cond('big', cmp('>=', out('prep', 'count'), lit(5)), [
        task('sq-big', 'h4', { x: out('prep', 'count') }),
      ], [
        task('sq-small', 'h4', { x: lit(0) }),
      ]),
      cond('named', cmp('==', param('mode'), lit('fast {{x}}')), [task('only-fast', 'h3', { score: lit(1) })]),
      task('report', 'h3', { score: { kind: 'oneOf', condition: 'big', options: [{ kind: 'output', task: 'sq-big', output: 'y' }, { kind: 'output', task: 'sq-small', output: 'y' }] } }, { after: ['named'] }),
    ], { params: { mode: p('string', { default: 'fast' }) } }),
    options: base,
  },
  loop: {
    ir: pipe('loop', { h4: square, h5: sum, h3: report }, [
      loop('sweep', lit([1, 2, 3]), [task('sq', 'h4', { x: item('sweep') })], 2),
      task('total', 'h5', { xs: collect('sweep', 'sq', 'y') }),
      loop('grid', param('points'), [
        task('sq-x', 'h4', { x: item('grid', 'x') }),
        task('rep', 'h3', { score: out('sq-x', 'y'), note: item('grid', 'label') }),
      ]),
      loop('again', out('total', 'parts'), [task('sq-again', 'h4', { x: item('again') })]),
    ], { params: { points: p('array', { default: [{ x: 1, label: 'a' }, { x: 2, label: 'b' }] }) } }),
    options: base,
  },
  'exit-handler': {
    ir: pipe('exit-handler', { h3: report, h6: fn('notify', { status: p('string'), channel: p('string') }) }, [
      task('report', 'h3', { score: lit(0.5) }),
    ], { exitHandler: task('notify', 'h6', { status: { kind: 'status' }, channel: param('channel') }), params: { channel: p('string', { default: '#ml' }) } }),
    options: base,
  },
  'retry-cache-timeout': {
    ir: pipe('retry-cache-timeout', { h4: square, h7: fn('flaky', {}, {}, { retry: { limit: 3, on: 'transient', backoff: { duration: '10s', factor: 2, maxDuration: '5m' } } }) }, [
      task('flaky', 'h7'),
      task('sq', 'h4', { x: lit(2) }, { options: { cache: { enabled: true, version: 'v2', maxAge: '1d' }, timeoutSeconds: 600, retry: { limit: 1, on: 'failure' } } }),
      task('sq-err', 'h4', { x: lit(3) }, { options: { retry: { limit: 2, on: 'error', backoff: { duration: '1m', factor: 3, cap: '5m', maxDuration: '1h' } } } }),
      task('sq-always', 'h4', { x: lit(4) }, { options: { retry: { limit: 5, on: 'always' }, cache: { enabled: true } } }),
    ]),
    options: base,
  },
  'pod-settings': {
    ir: pipe('pod-settings', { h4: square }, [
      task('gpu', 'h4', { x: lit(1) }, {
        options: {
          displayName: 'Train on GPU',
          resources: { cpu: '4', memory: '16Gi', ephemeralStorage: '50Gi', gpu: { count: 2, type: 'NVIDIA-H100-80GB-HBM3' } },
          env: { B: 'two', A: 'one: #1' },
          secretEnv: { TOKEN: { secret: 'hf-token', key: 'token' } },
          configMapEnv: { REGION: { configMap: 'settings', key: 'region' } },
          volumes: [
            { kind: 'secret', name: 'creds', secret: 'gcs-creds', mountPath: '/var/secrets/gcs' },
            { kind: 'configMap', name: 'conf', configMap: 'train-conf', mountPath: '/etc/train' },
            { kind: 'pvc', name: 'cache', claim: 'hf-cache', mountPath: '/cache', readOnly: false },
            { kind: 'emptyDir', name: 'shm', mountPath: '/dev/shm', medium: 'Memory', sizeLimit: '8Gi' },
          ],
          nodeSelector: { 'cloud.google.com/gke-nodepool': 'gpu-pool' },
          tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ml', effect: 'NoSchedule' }],
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] }] } } },
          image: 'ghcr.io/acme/gpu:2.1',
          imagePullPolicy: 'Always',
          serviceAccount: 'trainer',
          labels: { team: 'ml' },
          annotations: { 'acme.dev/owner': 'alice' },
          synchronization: { mutexes: ['gpu-node-a'], semaphores: [{ configMap: 'sluice-limits', key: 'trainers' }] },
        },
      }),
      task('cpu', 'h4', { x: lit(2) }),
    ], { options: { image: 'ghcr.io/acme/pipelines:1.0', taskDefaults: { env: { LOG_LEVEL: 'info' }, resources: { cpu: '500m', memory: '1Gi' } } } }),
    options: base,
  },
  'pipeline-options': {
    ir: pipe('pipeline-options', { h4: square }, [task('sq', 'h4', { x: lit(1) })], {
      options: {
        image: 'ghcr.io/acme/pipelines:1.0', namespace: 'ml', serviceAccount: 'pipeline-runner', ttlSeconds: 86400, podGC: 'OnPodSuccess',
        parallelism: 10, deadlineSeconds: 7200, artifactRepositoryRef: { configMap: 'artifact-repositories', key: 'minio' },
        labels: { project: 'demo' }, annotations: { 'acme.dev/cost-center': '42' },
        synchronization: { mutexes: ['nightly-retrain'] },
      },
    }),
    options: { ...base, exportName: 'pipelineOptions', image: 'ghcr.io/acme/override:2' },
  },
  // The tracking option in pods: the URI as a plain, escaped value (its `$(HOME)` must stay text),
  // the token only as a secret reference, a task's own MLFLOW_TRACKING_URI winning over the option.
  tracking: {
    ir: pipe('tracking', { h1: prep, h2: train, h4: square }, [
      task('prep', 'h1', { n: lit(3) }),
      task('train', 'h2', { data: out('prep', 'data'), config: lit({}) }),
      task('sq', 'h4', { x: lit(1) }, { options: { env: { MLFLOW_TRACKING_URI: 'http://task-own:5000' } } }),
    ], {
      options: {
        image: 'ghcr.io/acme/pipelines:1.0',
        tracking: { uri: 'https://mlflow.example.com/$(HOME)/x?a=$b', experiment: 'iris $(USER)', required: true, token: { secret: 'mlflow', key: 'token' }, artifacts: 'models' },
      },
    }),
    options: base,
  },
  nested: {
    ir: pipe('nested', {
      h4: square,
      h8: {
        kind: 'pipeline', name: 'double-square', inputs: { x: p('number') }, outputs: { y: p('number') }, defaults: {},
        dag: [task('first', 'h4', { x: param('x') }), task('second', 'h4', { x: out('first', 'y') })],
        outputValues: { y: out('second', 'y') },
      },
      h3: report,
    }, [
      task('outer', 'h8', { x: lit(3) }),
      task('outer2', 'h8', { x: out('outer', 'y') }),
      task('report', 'h3', { score: out('outer2', 'y') }),
    ], { outputs: { final: p('number') }, outputValues: { final: out('outer2', 'y') } }),
    options: base,
  },
  'artifact-fan-in': {
    // Artifacts collected over loops (key-only artifacts under a per-collect prefix, entry order
    // from an aggregated parameter) and cache keys chained through memoized producers.
    ir: pipe('fan-in', { h1: prep, f: fit, b: best, s: serve }, [
      task('prep', 'h1', { n: lit(100) }, { options: cached }),
      loop('sweep', param('rates'), [
        task('fit', 'f', { data: out('prep', 'data'), lr: item('sweep') }, { options: cached }),
      ], 2),
      task('pick', 'b', { models: collect('sweep', 'fit', 'model'), metrics: collect('sweep', 'fit', 'metrics'), scores: collect('sweep', 'fit', 'score') }, { options: cached }),
      task('serve', 's', { model: out('pick', 'model'), name: out('pick', 'name') }, { options: cached }),
      loop('outer', lit(['a', 'b']), [
        loop('inner', lit([0.1, 0.2]), [task('fit-in', 'f', { data: out('prep', 'data'), lr: item('inner') })]),
        task('pick-in', 'b', { models: collect('inner', 'fit-in', 'model'), metrics: collect('inner', 'fit-in', 'metrics'), scores: collect('inner', 'fit-in', 'score') }),
      ]),
    ], { params: { rates: p('array', { default: [0.01, 0.1, 1] }) } }),
    options: base,
  },
  'nested-options': {
    ir: pipe('nested-options', {
      h4: square,
      h8: {
        kind: 'pipeline', name: 'double-square', inputs: { x: p('number') }, outputs: { y: p('number') }, defaults: {},
        dag: [task('first', 'h4', { x: param('x') }), task('second', 'h4', { x: out('first', 'y') })],
        outputValues: { y: out('second', 'y') },
      },
    }, [
      task('pre', 'h4', { x: lit(1) }),
      task('side', 'h4', { x: lit(2) }),
      cond('big', cmp('>', out('pre', 'y'), lit(0)), [
        task('shown', 'h8', { x: out('pre', 'y') }, { after: ['side'], options: { displayName: 'Double square (big)' } }),
      ]),
      task('plain', 'h8', { x: lit(3) }),
      task('shown-again', 'h8', { x: lit(4) }, { options: { displayName: 'Double square (big)' } }),
    ]),
    options: base,
  },
  'workflow-template': {
    ir: pipe('templated', { h4: square }, [task('sq', 'h4', { x: param('x') })], { params: { x: p('number') } }),
    options: { ...base, kind: 'template', namespace: 'ml' },
  },
  cron: {
    ir: pipe('nightly', { h4: square }, [task('sq', 'h4', { x: param('x') })], { params: { x: p('number', { default: 2 }) } }),
    options: { ...base, kind: 'cron', schedules: ['0 3 * * *', '30 12 * * 1-5'], timezone: 'Europe/Paris', params: { x: 7 } },
  },
  'nasty-literals': {
    ir: pipe('nasty-literals', { h3: report, h5: sum }, [
      task('braces', 'h3', { score: lit(1), note: lit('{{workflow.name}} and {{=sprig.env("HOME")}}') }),
      task('prefix', 'h3', { score: lit(2), note: lit('sluice:b64:not-really') }),
      task('text', 'h3', { score: lit(3), note: lit("yes: no # 'quoted' \"double\"\nnew line ✓ -x") }),
      task('list', 'h5', { xs: lit(['{{a}}', 'b']) }),
      task('dollars', 'h3', { score: lit(4), note: lit('$(HF_TOKEN) costs $$5 nul\u0000') }),
    ], { params: { tricky: p('string', { default: 'tricky $(HOME) $$' }) } }),
    options: base,
  },
  split: {
    // A small maxDocumentBytes splits even this pipeline: its sub-DAGs (condition branches, a loop
    // and its parallelism wrapper, a nested pipeline) go to library WorkflowTemplates, reached
    // with templateRef; pod templates are copied into each document that calls them.
    ir: pipe('split', {
      h1: prep, h3: report, h4: square,
      h6: fn('notify', { status: p('string'), channel: p('string') }),
      h8: {
        kind: 'pipeline', name: 'double-square', inputs: { x: p('number') }, outputs: { y: p('number') }, defaults: {},
        dag: [task('first', 'h4', { x: param('x') }), task('second', 'h4', { x: out('first', 'y') })],
        outputValues: { y: out('second', 'y') },
      },
    }, [
      task('prep', 'h1', { n: param('n') }),
      cond('big', cmp('>=', out('prep', 'count'), lit(5)), [
        task('twice', 'h8', { x: out('prep', 'count') }),
      ], [
        task('sq-small', 'h4', { x: lit(0) }),
      ]),
      loop('sweep', param('xs'), [task('sq', 'h4', { x: item('sweep') }), task('rep', 'h3', { score: out('sq', 'y') })], 2),
      task('report', 'h3', { score: { kind: 'oneOf', condition: 'big', options: [{ kind: 'output', task: 'twice', output: 'y' }, { kind: 'output', task: 'sq-small', output: 'y' }] } }),
    ], {
      params: { n: p('integer', { default: 10 }), xs: p('array', { default: [1, 2] }), channel: p('string', { default: '#ml' }) },
      exitHandler: task('notify', 'h6', { status: { kind: 'status' }, channel: param('channel') }),
      outputs: { final: p('number') }, outputValues: { final: out('prep', 'count') },
    }),
    options: { ...base, maxDocumentBytes: 1_500 },
  },
};
