/**
 * The files of a new Sluice project, as text. One place: `npm create sluice` and `sluice init`
 * both write these.
 */

/** Versions the new project depends on. */
export interface ScaffoldVersions {
  /** Version range of the `@sluice/*` packages, e.g. `^0.1.0`. */
  readonly sluice: string;
}

const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

function packageJson(name: string, v: ScaffoldVersions): string {
  return json({
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: {
      start: 'sluice run pipeline.ts',
      compile: 'sluice compile pipeline.ts -o workflow.yaml',
      test: 'vitest run',
      typecheck: 'tsc --noEmit',
    },
    engines: { node: '>=20.19' },
    // What a step needs at run time, in a pod as on a laptop: the SDK, the executor, zod.
    dependencies: { '@sluice/executor': v.sluice, '@sluice/sdk': v.sluice, zod: '^4.6.0' },
    // The local runner and CLI (SQLite, the compiler) stay out of the pod image.
    devDependencies: { '@sluice/runner': v.sluice, '@types/node': '^20.19.0', typescript: '~5.9.3', vitest: '~4.1.0' },
    // npm 11 runs a dependency's install script only when allowed: better-sqlite3 builds its binding.
    allowScripts: { 'better-sqlite3': true, esbuild: true },
  });
}

const TSCONFIG = json({
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023'],
    types: ['node'],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    verbatimModuleSyntax: true,
  },
  include: ['*.ts', 'src', 'test'],
});

const PIPELINE = `/**
 * A first Sluice pipeline: \`prepare\` writes a data set and counts its rows; \`summarize\` runs
 * only when there are at least \`minRows\` rows (a condition).
 *
 *   npx sluice run pipeline.ts --param rows=50
 *   npx sluice compile pipeline.ts -o workflow.yaml
 */
import { z } from 'zod';
import { component, pipeline, Dataset } from '@sluice/sdk';

/** Writes \`rows\` numbers, one per line. */
export const prepare = component({
  name: 'prepare',
  description: 'Writes a data set of numbers and counts them.',
  inputs: { rows: z.number().int().min(0), seed: z.number().int() },
  outputs: { data: Dataset, count: z.number().int() },
  async run({ rows, seed }, ctx) {
    const values = Array.from({ length: rows }, (_, i) => ((i + 1) * seed) % 97);
    await ctx.outputs.data.write(values.map((v) => \`\${v}\\n\`).join(''));
    ctx.outputs.data.metadata['rows'] = rows;
    ctx.log.info('prepared', { rows });
    return { count: values.length };
  },
});

/** Reads the data set back and reports its mean. */
export const summarize = component({
  name: 'summarize',
  description: 'The mean of the data set.',
  inputs: { data: Dataset },
  outputs: { mean: z.number() },
  async run({ data }, ctx) {
    const values = (await data.readText()).trim().split('\\n').map(Number);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    ctx.log.info('summarized', { mean });
    return { mean };
  },
});

export default pipeline(
  {
    name: 'first-pipeline',
    description: 'Prepare a data set; summarize it when it is large enough.',
    // The image function steps run in on Argo: build it from this directory (see the Dockerfile).
    image: 'IMAGE',
    params: {
      rows: z.number().int().min(0).default(20),
      seed: z.number().int().default(7),
      minRows: z.number().int().default(10),
    },
  },
  ({ rows, seed, minRows }, p) => {
    const prepared = prepare({ rows, seed });
    p.when(prepared.outputs.count.gte(minRows), () => summarize({ data: prepared.outputs.data }), { name: 'enough-rows' });
    return { data: prepared.outputs.data, count: prepared.outputs.count };
  },
);
`;

const TEST = `import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runPipeline } from '@sluice/runner';
import firstPipeline from '../pipeline.js';

// Each test run gets its own store, so nothing is served from an earlier run's cache. Steps run
// as \`sluice run\` runs them: each in a process that loads the pipeline file.
const store = mkdtempSync(join(tmpdir(), 'sluice-test-'));
afterAll(() => rmSync(store, { recursive: true, force: true }));
const options = { storeDir: store, entry: fileURLToPath(new URL('../pipeline.ts', import.meta.url)) };

// A run starts step processes that load the pipeline: allow more than vitest's 5 s default.
describe('first-pipeline', { timeout: 60_000 }, () => {
  it('prepares the data and summarizes it when there are enough rows', async () => {
    const r = await runPipeline(firstPipeline, { ...options, params: { rows: 12 } });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('succeeded');
    expect(r.outputs.count).toBe(12);
    expect(r.tasks['summarize']?.state).toBe('succeeded');
  });

  it('skips the summary below minRows', async () => {
    const r = await runPipeline(firstPipeline, { ...options, params: { rows: 3 } });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('succeeded');
    expect(r.outputs.count).toBe(3);
    expect(r.tasks['summarize']?.state).toBe('skipped');
  });
});
`;

const DOCKERFILE = `# The image Argo runs this project's function steps in: Node, the production dependencies
# (the SDK and the executor; not the local runner, its SQLite or the compiler) and the sources.
#   docker build -t IMAGE .
FROM node:22-slim
WORKDIR /app
COPY package.json package-lock.json ./
# The compiled Workflow runs \`sluice exec ...\` in the pod: sluice-exec is that command.
# No install scripts: nothing native is built in the image (the executor never loads SQLite).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && ln -s sluice-exec node_modules/.bin/sluice
COPY . .
ENV PATH=/app/node_modules/.bin:$PATH NODE_ENV=production
USER node
`;

const DOCKERIGNORE = `# Never in the image: the host's packages (the image installs its own), local run state, outputs.
node_modules
.sluice
workflow.yaml
*.log
.git
`;

const GITIGNORE = `node_modules/
.sluice/
workflow.yaml
`;

function readme(name: string): string {
  return `# ${name}

A Sluice pipeline project: typed ML pipelines in TypeScript that run on
this machine and compile to Argo Workflows.

\`\`\`sh
npm install                                   # builds better-sqlite3 if no prebuilt binary fits (needs python3, make, a C++ compiler)
npm test                                      # the pipeline's own test (vitest)
npx sluice run pipeline.ts                    # a local run; state and artifacts in .sluice/
npx sluice run pipeline.ts --param rows=3     # the condition skips the summary
npx sluice runs                               # past runs
npx sluice show latest                        # tasks, attempts, cache hits, outputs
npx sluice compile pipeline.ts -o workflow.yaml   # an Argo Workflow
npm run typecheck                             # tsc, no emit
\`\`\`

On a cluster: build the image the Workflow names (\`docker build -t IMAGE .\`, see
\`Dockerfile\`; it holds production dependencies only), push it, then
\`argo submit workflow.yaml\` (or \`kubectl create -f workflow.yaml\`).

Files: \`pipeline.ts\` (two components and a condition), \`test/pipeline.test.ts\`,
\`Dockerfile\` and \`.dockerignore\` (the pod image), \`tsconfig.json\`.
`;
}

/** The files of a new project named `name`, by relative path. */
export function scaffoldFiles(name: string, versions: ScaffoldVersions): Readonly<Record<string, string>> {
  const image = `${name}:0.1.0`;
  return {
    'package.json': packageJson(name, versions),
    'tsconfig.json': TSCONFIG,
    'pipeline.ts': PIPELINE.replace("'IMAGE'", `'${image}'`),
    'test/pipeline.test.ts': TEST,
    Dockerfile: DOCKERFILE.replace('IMAGE', image),
    '.dockerignore': DOCKERIGNORE,
    '.gitignore': GITIGNORE,
    'README.md': readme(name).replaceAll('IMAGE', image),
  };
}
