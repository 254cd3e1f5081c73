/**
 * @sluice/compiler: pipeline IR -> Argo Workflows. The whole public API is exported here.
 *
 * @example
 * import { compile, toGraph } from '@sluice/compiler';
 * const { yaml } = compile(ir, { entry: 'pipeline.ts', image: 'ghcr.io/acme/pipelines:1' });
 * console.log(toGraph(ir, 'mermaid'));
 *
 * Source analysis (ts-morph, which carries its own TypeScript) is a separate entry,
 * `@sluice/compiler/source`, so that compiling never loads it.
 */
export { compile } from './compile.ts';
export type { CompileOptions, CompileResult, CompileKind } from './compile.ts';
export { toGraph } from './graph.ts';
export type { GraphFormat } from './graph.ts';
export { readSourceMap, taskNode, SOURCE_MAP_ANNOTATION } from './sourcemap.ts';
export type { SourceMap, TemplateOrigin, TemplateKind } from './sourcemap.ts';
