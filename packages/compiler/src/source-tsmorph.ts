/**
 * The same module facts as `source-scan.ts`, read with ts-morph (a full TypeScript parse). Used
 * for JSX files (`.tsx`, `.jsx`) and for a file the scanner does not follow, and by the tests as
 * the reference the scanner must agree with. ts-morph (and the TypeScript it carries, ~0.35 s to
 * load) is required only when this runs.
 */
import { createRequire } from 'node:module';
import type { Node as NodeT, SourceFile } from 'ts-morph';
import type { DefinitionFact, ImportFact, ModuleFacts } from './source-scan.ts';

type TsMorph = typeof import('ts-morph');
let tsMorph: TsMorph | undefined;
let project: InstanceType<TsMorph['Project']> | undefined;

function load(): TsMorph {
  tsMorph ??= createRequire(import.meta.url)('ts-morph') as TsMorph;
  return tsMorph;
}

const SDK = '@sluice/sdk';

/** The `/** ... *\/` comment right before `node`'s top-level statement, raw. */
function docComment(m: TsMorph, node: NodeT): string | undefined {
  const stmt = node.getFirstAncestor((a) => m.Node.isStatement(a));
  // Only top-level definitions: a comment on an enclosing function describes that function.
  if (!stmt || !m.Node.isSourceFile(stmt.getParent())) return undefined;
  const ranges = stmt.getLeadingCommentRanges();
  const text = ranges[ranges.length - 1]?.getText();
  return text?.startsWith('/**') ? text : undefined;
}

function runtimeImports(m: TsMorph, file: SourceFile): ImportFact[] {
  const out: ImportFact[] = [];
  for (const imp of file.getImportDeclarations()) {
    if (imp.isTypeOnly()) continue;
    const named = imp.getNamedImports();
    if (!imp.getDefaultImport() && !imp.getNamespaceImport() && named.length > 0 && named.every((n) => n.isTypeOnly())) continue;
    out.push({ spec: imp.getModuleSpecifierValue(), line: imp.getStartLineNumber() });
  }
  for (const exp of file.getExportDeclarations()) {
    const spec = exp.getModuleSpecifierValue();
    if (spec !== undefined && !exp.isTypeOnly()) out.push({ spec, line: exp.getStartLineNumber() });
  }
  for (const call of file.getDescendantsOfKind(m.SyntaxKind.CallExpression)) {
    if (call.getExpression().getKind() !== m.SyntaxKind.ImportKeyword) continue;
    const arg = call.getArguments()[0];
    if (arg && m.Node.isStringLiteral(arg)) out.push({ spec: arg.getLiteralValue(), line: call.getStartLineNumber() });
  }
  return out;
}

/**
 * The facts of the module at `path`, parsed by ts-morph (syntax only: no type checker, no
 * node_modules).
 *
 * @example
 * tsMorphFacts('/repo/app/pipeline.ts').imports // [{ spec: 'zod', line: 1 }, ...]
 */
export function tsMorphFacts(path: string): ModuleFacts {
  const m = load();
  project ??= new m.Project({ useInMemoryFileSystem: false, skipAddingFilesFromTsConfig: true, skipFileDependencyResolution: true, compilerOptions: { allowJs: true } });
  const existing = project.getSourceFile(path);
  if (existing) project.removeSourceFile(existing);
  const file = project.addSourceFileAtPath(path);
  const sdkImports: Record<string, string> = {};
  for (const imp of file.getImportDeclarations()) {
    if (imp.getModuleSpecifierValue() !== SDK) continue;
    for (const n of imp.getNamedImports()) sdkImports[n.getAliasNode()?.getText() ?? n.getName()] = n.getName();
  }
  const definitions: DefinitionFact[] = [];
  for (const call of file.getDescendantsOfKind(m.SyntaxKind.CallExpression)) {
    const callee = call.getExpression();
    if (!m.Node.isIdentifier(callee)) continue;
    const config = call.getArguments()[0];
    if (!config || !m.Node.isObjectLiteralExpression(config)) continue;
    if (config.getProperty('description')) continue;
    const nameProp = config.getProperty('name');
    const init = nameProp && m.Node.isPropertyAssignment(nameProp) ? nameProp.getInitializer() : undefined;
    if (!init || !m.Node.isStringLiteral(init)) continue;
    const comment = docComment(m, call);
    definitions.push({ callee: callee.getText(), name: init.getLiteralValue(), ...(comment ? { comment } : {}) });
  }
  const facts = { imports: runtimeImports(m, file), sdkImports, definitions };
  project.removeSourceFile(file);
  return facts;
}
