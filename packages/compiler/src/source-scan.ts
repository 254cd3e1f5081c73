/**
 * What source analysis needs of one module, read by a small TypeScript/JavaScript scanner instead
 * of a parser: the module specifiers it loads at run time (with their lines), the local names of
 * the SDK's definers it imports, and the doc comments of top-level definitions. It keeps the
 * syntax-level meaning ts-morph gave these (`analyze.ts` reads the same facts from either): import
 * and export declarations at the top level of the module (type-only ones erased), `import('x')`
 * calls with a string literal, a definer call whose first argument is an object literal with a
 * string literal `name` and no `description`, described by the `/** … *\/` comment right before
 * its top-level statement. JSX is not scanned: `.tsx`/`.jsx` files, and a file whose brackets do
 * not balance, go to ts-morph (see `source.ts`).
 */

/** A module specifier loaded at run time and the line of its declaration or call. */
export interface ImportFact {
  readonly spec: string;
  readonly line: number;
}

/** A call of an identifier whose config names the definition and gives no description. */
export interface DefinitionFact {
  readonly callee: string;
  readonly name: string;
  /** The doc comment (`/** … *\/`, raw text) before its top-level statement, if any. */
  readonly comment?: string;
}

/** One module's facts, plain JSON. */
export interface ModuleFacts {
  /** Import declarations, then export-from declarations, then `import()` calls, each in source order. */
  readonly imports: readonly ImportFact[];
  /** Local name → imported name, for every named import from `@sluice/sdk`. */
  readonly sdkImports: { readonly [local: string]: string };
  readonly definitions: readonly DefinitionFact[];
}

const enum K { Id, Str, Num, Regex, Punct, NoSubst, TmplHead, TmplMiddle, TmplTail }

interface Tok {
  readonly k: K;
  readonly v: string;
  readonly s: number;
  /** A line break in the trivia before this token. */
  readonly nl: boolean;
  /** The last comment TypeScript counts as leading this token (same-line comments after the previous token are trailing). */
  readonly lead: string | undefined;
}

/** The scanner met something it does not follow (unbalanced brackets, an unterminated literal). */
export class ScanError extends Error {
  override readonly name = 'ScanError';
}

const ID_START = /[\p{ID_Start}$_\\]/u;
const ID_PART = /[\p{ID_Continue}$\u200c\u200d\\]/u;
/** The rest of an identifier (always matches, maybe empty). */
const IDENT = /[\p{ID_Continue}$\u200c\u200d\\]*/uy;
/** a-z A-Z $ _ # (a private name is scanned as an identifier) */
const isIdStart = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 36 || c === 95 || c === 35;
const NUMBER = /0[xXbBoO][0-9a-fA-F_]+n?|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?n?/y;
const PUNCT3 = new Set(['...', '===', '!==', '**=', '<<=', '>>=', '>>>', '&&=', '||=', '??=']);
const PUNCT2 = new Set(['=>', '?.', '++', '--', '==', '!=', '<=', '>=', '&&', '||', '??', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '**', '<<', '>>']);
/** After these words an expression starts, so `/` begins a regular expression. */
const BEFORE_EXPR = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await', 'extends']);
const isBreak = (c: string) => c === '\n' || c === '\r' || c === '\u2028' || c === '\u2029';

function tokenize(text: string): Tok[] {
  const toks: Tok[] = [];
  const n = text.length;
  let i = 0;
  // TypeScript collects leading comments from the start of the file (after a shebang), else only after a line break
  let atStart = true;
  if (text.startsWith('#!')) while (i < n && !isBreak(text[i]!)) i++;
  /** Brace depth inside each open `${`. */
  const tmpl: number[] = [];
  const prevSignificant = (): Tok | undefined => toks[toks.length - 1];
  const regexAllowed = (): boolean => {
    const p = prevSignificant();
    if (!p) return true;
    if (p.k === K.Id) return BEFORE_EXPR.has(p.v);
    if (p.k === K.Punct && p.v === '!' && !p.nl) {
      // TypeScript's non-null assertion (`a[i]! / n`) follows an expression; a logical not starts one
      const q = toks[toks.length - 2];
      if (q && (q.k === K.Str || q.k === K.Num || q.k === K.TmplTail || q.k === K.NoSubst || (q.k === K.Id && !BEFORE_EXPR.has(q.v)) || (q.k === K.Punct && (q.v === ')' || q.v === ']')))) return false;
    }
    if (p.k === K.Punct) return !(p.v === ')' || p.v === ']' || p.v === '}' || p.v === '++' || p.v === '--');
    return p.k === K.TmplHead || p.k === K.TmplMiddle;
  };
  /** Scans template text from `j` (just after '`' or '}'); returns the token kind and the end. */
  const templatePart = (j: number, head: boolean): [K, number] => {
    while (j < n) {
      const c = text[j]!;
      if (c === '\\') j += 2;
      else if (c === '`') return [head ? K.NoSubst : K.TmplTail, j + 1];
      else if (c === '$' && text[j + 1] === '{') return [head ? K.TmplHead : K.TmplMiddle, j + 2];
      else j++;
    }
    throw new ScanError('unterminated template literal');
  };
  let nl = false;
  let lead: string | undefined;
  let s = 0;
  const push = (k: K, end: number): void => {
    toks.push({ k, v: text.slice(s, end), s, nl, lead });
    i = end;
  };
  while (true) {
    // trivia
    nl = false;
    lead = undefined;
    let collecting = atStart;
    while (i < n) {
      const c = text[i]!;
      if (isBreak(c)) {
        nl = true;
        collecting = true;
        i++;
      } else if (c === ' ' || c === '\t' || c === '\v' || c === '\f' || c === '\u00a0' || c === '\ufeff' || (c.charCodeAt(0) > 127 && /\s/.test(c))) i++;
      else if (c === '/' && text[i + 1] === '/') {
        const from = i;
        while (i < n && !isBreak(text[i]!)) i++;
        if (collecting) lead = text.slice(from, i);
      } else if (c === '/' && text[i + 1] === '*') {
        const from = i;
        const end = text.indexOf('*/', i + 2);
        if (end < 0) throw new ScanError('unterminated comment');
        i = end + 2;
        if (collecting) lead = text.slice(from, i);
        // a line break inside a comment ends a statement (ASI) but does not make later comments leading
        if (/[\n\r\u2028\u2029]/.test(text.slice(from, i))) nl = true;
      } else break;
    }
    atStart = false;
    if (i >= n) break;
    s = i;
    const c = text[i]!;
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < n && text[j] !== c) {
        if (text[j] === '\\') j++;
        else if (text[j] === '\n') throw new ScanError('unterminated string');
        j++;
      }
      if (j >= n) throw new ScanError('unterminated string');
      push(K.Str, j + 1);
    } else if (c === '`') {
      const [k, end] = templatePart(i + 1, true);
      if (k === K.TmplHead) tmpl.push(0);
      push(k, end);
    } else if (c === '}' && tmpl.length && tmpl[tmpl.length - 1] === 0) {
      const [k, end] = templatePart(i + 1, false);
      if (k === K.TmplTail) tmpl.pop();
      push(k, end);
    } else if (isIdStart(c.charCodeAt(0)) || ((c.charCodeAt(0) > 127 || c === '\\') && ID_START.test(c))) {
      IDENT.lastIndex = i + 1;
      IDENT.exec(text);
      push(K.Id, IDENT.lastIndex);
    } else if (/\d/.test(c) || (c === '.' && /\d/.test(text[i + 1] ?? ''))) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      push(K.Num, m ? i + m[0].length : i + 1);
    } else if (c === '/' && regexAllowed()) {
      let j = i + 1;
      let cls = false;
      while (j < n) {
        const d = text[j]!;
        if (d === '\\') j++;
        else if (isBreak(d)) throw new ScanError('unterminated regular expression');
        else if (cls) { if (d === ']') cls = false; }
        else if (d === '[') cls = true;
        else if (d === '/') break;
        j++;
      }
      j++;
      while (j < n && ID_PART.test(text[j]!)) j++;
      push(K.Regex, j);
    } else {
      const three = text.slice(i, i + 3);
      const two = text.slice(i, i + 2);
      let len = PUNCT3.has(three) ? 3 : PUNCT2.has(two) && !(two === '?.' && /\d/.test(text[i + 2] ?? '')) ? 2 : 1;
      if (three === '>>>' && text[i + 3] === '=') len = 4;
      if (tmpl.length) {
        if (c === '{') tmpl[tmpl.length - 1]!++;
        else if (c === '}') tmpl[tmpl.length - 1]!--;
      }
      push(K.Punct, i + len);
    }
  }
  if (tmpl.length) throw new ScanError('unterminated template literal');
  return toks;
}

/** The index of each opening token's closing one (`(`, `[`, `{`, a template head or middle). */
function matchBrackets(toks: readonly Tok[]): Int32Array {
  const match = new Int32Array(toks.length).fill(-1);
  const open: number[] = [];
  const CLOSE: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  toks.forEach((t, i) => {
    if (t.k === K.Punct && (t.v === '(' || t.v === '[' || t.v === '{')) open.push(i);
    else if (t.k === K.TmplHead) open.push(i);
    else if (t.k === K.TmplMiddle || t.k === K.TmplTail) {
      const o = open.pop();
      if (o === undefined || toks[o]!.k === K.Punct) throw new ScanError('unbalanced template literal');
      match[o] = i;
      if (t.k === K.TmplMiddle) open.push(i);
    } else if (t.k === K.Punct && CLOSE[t.v]) {
      const o = open.pop();
      if (o === undefined || toks[o]!.v !== CLOSE[t.v]) throw new ScanError(`unbalanced "${t.v}"`);
      match[o] = i;
    }
  });
  if (open.length) throw new ScanError('unbalanced brackets');
  return match;
}

/** The value of a string literal token (escapes resolved). */
export function stringValue(raw: string): string {
  const body = raw.slice(1, -1);
  if (!body.includes('\\')) return body;
  return body.replace(/\\(?:u\{([0-9a-fA-F]+)\}|u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|(\r\n|[\n\r\u2028\u2029])|([0-7]{1,3})|(.))/gs, (_m, cp?: string, u4?: string, x2?: string, lineCont?: string, oct?: string, ch?: string) => {
    if (cp) return String.fromCodePoint(parseInt(cp, 16));
    if (u4) return String.fromCharCode(parseInt(u4, 16));
    if (x2) return String.fromCharCode(parseInt(x2, 16));
    if (lineCont) return '';
    if (oct) return oct === '0' ? '\0' : String.fromCharCode(parseInt(oct, 8));
    return ({ n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v' } as Record<string, string>)[ch!] ?? ch!;
  });
}

const is = (t: Tok | undefined, v: string): boolean => !!t && (t.k === K.Punct || t.k === K.Id) && t.v === v;
const isPunct = (t: Tok | undefined, v: string): boolean => !!t && t.k === K.Punct && t.v === v;
/** Words that cannot end an expression: a line break after them does not end the statement. */
const CONTINUES = new Set(['in', 'instanceof', 'as', 'satisfies', 'of', 'keyof', 'typeof', 'extends', 'implements']);
const STATEMENT_WORDS = new Set(['const', 'let', 'var', 'function', 'class', 'interface', 'enum', 'declare', 'namespace', 'abstract', 'if', 'for', 'while', 'do', 'switch', 'try', 'throw', 'return', 'async', 'type', 'module']);

type Frame = 'paren' | 'bracket' | 'block' | 'object' | 'class' | 'tmpl';

/**
 * The facts of one module's source text.
 *
 * @throws ScanError when the text is not something the scanner follows (then read it with ts-morph).
 * @example
 * scanModule("import { z } from 'zod';").imports // [{ spec: 'zod', line: 1 }]
 */
export function scanModule(text: string): ModuleFacts {
  const toks = tokenize(text);
  const match = matchBrackets(toks);
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n' || c === '\u2028' || c === '\u2029' || (c === '\r' && text[i + 1] !== '\n')) lineStarts.push(i + 1);
  }
  const lineOf = (pos: number): number => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const imports: ImportFact[] = [];
  const exports: ImportFact[] = [];
  const dynamic: ImportFact[] = [];
  const sdkImports: Record<string, string> = {};
  const calls: DefinitionFact[] = [];

  const stack: Frame[] = [];
  let blocks = 0;
  /** Header keyword (class, namespace, …) waiting for its `{`, with the stack depth it was seen at. */
  let header: { word: string; depth: number } | undefined;
  /** The leading comment of the current top-level statement. */
  let stmtLead: string | undefined;
  /** The frame a closing `}` at top level closed, for the statement rule below. */
  let closedAtTop: Frame | undefined;

  const startsStatement = (i: number): boolean => {
    const t = toks[i]!;
    const p = toks[i - 1];
    if (!p || isPunct(p, ';')) return true;
    if (is(t, 'export')) return true;
    if (is(t, 'import') && !isPunct(toks[i + 1], '(') && !isPunct(toks[i + 1], '.')) return true;
    if (isPunct(p, '}') && (closedAtTop === 'block' || closedAtTop === 'class')) {
      if (t.k === K.Id && !['else', 'catch', 'finally', 'while', ...CONTINUES].includes(t.v)) return true;
      if (t.k === K.Str || t.k === K.Num || isPunct(t, '{') || isPunct(t, '@')) return true;
    }
    if (!t.nl) return false;
    const pEnds = (p.k === K.Id && !BEFORE_EXPR.has(p.v) && !CONTINUES.has(p.v) && !STATEMENT_WORDS.has(p.v) && p.v !== 'export' && p.v !== 'default' && p.v !== 'import')
      || p.k === K.Str || p.k === K.Num || p.k === K.Regex || p.k === K.NoSubst || p.k === K.TmplTail
      || isPunct(p, ')') || isPunct(p, ']') || isPunct(p, '}') || isPunct(p, '++') || isPunct(p, '--');
    if (!pEnds) return false;
    if (t.k === K.Id) return !CONTINUES.has(t.v);
    return t.k === K.Str || t.k === K.Num || isPunct(t, '{') || isPunct(t, '@') || isPunct(t, '!') || isPunct(t, '~') || isPunct(t, '++') || isPunct(t, '--') || isPunct(t, ';');
  };

  /** Kind of the `{` at `i`. */
  const braceKind = (i: number): Frame => {
    const p = toks[i - 1];
    if (header && header.depth === stack.length) {
      const w = header.word;
      header = undefined;
      return w === 'class' || w === 'interface' || w === 'enum' ? 'class' : 'block';
    }
    if (!p || isPunct(p, '=>') || isPunct(p, ')') || isPunct(p, ';') || isPunct(p, '{') || isPunct(p, '}') || isPunct(p, '>')) return 'block';
    if (p.k === K.Id) return BEFORE_EXPR.has(p.v) && p.v !== 'else' && p.v !== 'do' ? 'object' : p.v === 'default' || p.v === 'satisfies' || p.v === 'as' ? 'object' : 'block';
    if (p.k === K.Str) return 'block';
    return 'object';
  };

  /** Parses an import declaration at `i` (the `import` token); returns the index after it. */
  const importDeclaration = (i: number): number => {
    let j = i + 1;
    const line = lineOf(toks[i]!.s);
    if (toks[j]?.k === K.Str) {
      imports.push({ spec: stringValue(toks[j]!.v), line });
      return j + 1;
    }
    let typeOnly = false;
    if (is(toks[j], 'type')) {
      const a = toks[j + 1];
      if (isPunct(a, '{') || isPunct(a, '*')) typeOnly = true;
      else if (a?.k === K.Id && !(a.v === 'from' && toks[j + 2]?.k === K.Str)) typeOnly = true;
      if (typeOnly) j++;
    }
    let hasDefault = false;
    let hasNamespace = false;
    const named: { name: string; alias: string; type: boolean }[] = [];
    if (toks[j]?.k === K.Id && !is(toks[j], 'from')) {
      if (isPunct(toks[j + 1], '=')) return j + 1; // import x = require(...): not an import declaration
      hasDefault = true;
      j++;
      if (isPunct(toks[j], ',')) j++;
    } else if (is(toks[j], 'from') && isPunct(toks[j + 1], ',')) {
      hasDefault = true; // a default import named `from`
      j += 2;
    } else if (is(toks[j], 'from') && is(toks[j + 1], 'from')) {
      hasDefault = true;
      j++;
    }
    if (isPunct(toks[j], '*')) {
      hasNamespace = true;
      j += 3; // * as ns
    } else if (isPunct(toks[j], '{')) {
      const close = match[j]!;
      let parts: Tok[] = [];
      const flush = () => {
        if (!parts.length) return;
        const type = parts.length >= 2 && parts[0]!.v === 'type' && !(parts.length === 3 && parts[1]!.v === 'as');
        const rest = type ? parts.slice(1) : parts;
        const name = rest[0]!.k === K.Str ? stringValue(rest[0]!.v) : rest[0]!.v;
        const alias = rest.length >= 3 && rest[1]!.v === 'as' ? rest[2]!.v : name;
        named.push({ name, alias, type });
        parts = [];
      };
      for (let k = j + 1; k < close; k++) {
        if (isPunct(toks[k], ',')) flush();
        else parts.push(toks[k]!);
      }
      flush();
      j = close + 1;
    }
    if (!is(toks[j], 'from') || toks[j + 1]?.k !== K.Str) return j;
    const spec = stringValue(toks[j + 1]!.v);
    if (spec === '@sluice/sdk') for (const s of named) sdkImports[s.alias] = s.name;
    const runtime = !typeOnly && !(!hasDefault && !hasNamespace && named.length > 0 && named.every((s) => s.type));
    if (runtime) imports.push({ spec, line });
    return j + 2;
  };

  /** Parses an export declaration with a module specifier at `i` (the `export` token); returns the index after it, or `i + 1`. */
  const exportDeclaration = (i: number): number => {
    let j = i + 1;
    const line = lineOf(toks[i]!.s);
    let typeOnly = false;
    if (is(toks[j], 'type') && (isPunct(toks[j + 1], '{') || isPunct(toks[j + 1], '*'))) {
      typeOnly = true;
      j++;
    }
    if (isPunct(toks[j], '*')) {
      j++;
      if (is(toks[j], 'as')) j += 2;
    } else if (isPunct(toks[j], '{')) j = match[j]! + 1;
    else return i + 1;
    if (!is(toks[j], 'from') || toks[j + 1]?.k !== K.Str) return j;
    if (!typeOnly) exports.push({ spec: stringValue(toks[j + 1]!.v), line });
    return j + 2;
  };

  /** The index after the token at `k`, past the whole bracketed group or template when it opens one. */
  const after = (k: number): number => {
    let e = match[k]!;
    if (e < 0) return k + 1;
    while (toks[e]!.k === K.TmplMiddle) e = match[e]!;
    return e + 1;
  };

  /** A definer-like call at `i` (an identifier followed by `(`): its config's facts. */
  const definition = (i: number, open: number): void => {
    const obj = open + 1;
    if (!isPunct(toks[obj], '{')) return;
    const end = match[obj]!;
    if (!isPunct(toks[end + 1], ',') && !isPunct(toks[end + 1], ')')) return;
    let name: string | undefined;
    let nameSeen = false;
    let described = false;
    let k = obj + 1;
    while (k < end) {
      const a = k;
      while (k < end && !isPunct(toks[k], ',')) k = after(k);
      const b = k; // [a, b): one property
      k++;
      if (a >= b || isPunct(toks[a], '...')) continue;
      let j = a;
      while (j + 1 < b && toks[j]!.k === K.Id && ['async', 'get', 'set'].includes(toks[j]!.v) && (toks[j + 1]!.k === K.Id || isPunct(toks[j + 1], '*') || isPunct(toks[j + 1], '['))) j++;
      if (isPunct(toks[j], '*')) j++;
      const key = toks[j]?.k === K.Id ? toks[j]!.v : undefined;
      if (key === 'description') described = true;
      if (key === 'name' && !nameSeen) {
        nameSeen = true;
        if (j === a && isPunct(toks[j + 1], ':') && j + 3 === b && toks[j + 2]!.k === K.Str) name = stringValue(toks[j + 2]!.v);
      }
    }
    if (described || name === undefined) return;
    const comment = blocks === 0 && stmtLead?.startsWith('/**') ? stmtLead : undefined;
    calls.push({ callee: toks[i]!.v, name, ...(comment ? { comment } : {}) });
  };

  for (let i = 0; i < toks.length; ) {
    const t = toks[i]!;
    if (stack.length === 0 && startsStatement(i)) {
      stmtLead = t.lead;
      closedAtTop = undefined;
      if (is(t, 'import') && !isPunct(toks[i + 1], '(') && !isPunct(toks[i + 1], '.')) {
        i = importDeclaration(i);
        continue;
      }
      if (is(t, 'export')) {
        const next = exportDeclaration(i);
        if (next !== i + 1) {
          i = next;
          continue;
        }
      }
    }
    if (t.k === K.Punct) {
      if (t.v === '(') stack.push('paren');
      else if (t.v === '[') stack.push('bracket');
      else if (t.v === '{') {
        const f = braceKind(i);
        stack.push(f);
        if (f === 'block') blocks++;
      } else if (t.v === ')' || t.v === ']' || t.v === '}') {
        const f = stack.pop();
        if (f === 'block') blocks--;
        if (header && header.depth > stack.length) header = undefined;
        if (stack.length === 0) closedAtTop = f;
      }
    } else if (t.k === K.TmplHead) stack.push('tmpl');
    else if (t.k === K.TmplTail) stack.pop();
    else if (t.k === K.Id) {
      const p = toks[i - 1];
      const afterDot = isPunct(p, '.') || isPunct(p, '?.');
      const nextV = toks[i + 1]?.k === K.Punct ? toks[i + 1]!.v : '';
      if (!afterDot && ['class', 'interface', 'enum', 'namespace', 'module'].includes(t.v) && !['(', ')', ':', ',', '=', '.', ';', '}', '?.'].includes(nextV)) header = { word: t.v, depth: stack.length };
      else if (!afterDot && t.v === 'global' && is(p, 'declare')) header = { word: 'namespace', depth: stack.length };
      if (t.v === 'import' && !afterDot && isPunct(toks[i + 1], '(')) {
        const arg = toks[i + 2];
        const close = match[i + 1]!;
        const following = toks[close + 1];
        const typeish = !is(p, 'await') && (is(p, 'typeof') || isPunct(following, '<') || (isPunct(following, '.') && toks[close + 2]?.k === K.Id && !['then', 'catch', 'finally'].includes(toks[close + 2]!.v)));
        if (arg?.k === K.Str && (isPunct(toks[i + 3], ',') || isPunct(toks[i + 3], ')')) && !typeish) dynamic.push({ spec: stringValue(arg.v), line: lineOf(t.s) });
      } else if (!afterDot && !is(p, 'function') && !is(p, 'new')) {
        let open = i + 1;
        if (isPunct(toks[open], '<')) {
          // type arguments: component<...>(
          let depth = 0;
          for (; open < toks.length; open++) {
            const v = toks[open]!;
            if (isPunct(v, '<')) depth++;
            else if (isPunct(v, '>')) depth--;
            else if (isPunct(v, '>>')) depth -= 2;
            else if (v.k === K.Punct && match[open]! >= 0 && v.v !== '(') open = match[open]!;
            else if (isPunct(v, ';') || isPunct(v, '(') || isPunct(v, ')')) break;
            if (depth === 0) {
              open++;
              break;
            }
            if (depth < 0) break;
          }
          if (depth !== 0) open = -1;
        }
        const top = stack[stack.length - 1];
        const method = (top === 'object' || top === 'class') && (isPunct(p, '{') || isPunct(p, ',') || isPunct(p, ';') || (p?.k === K.Id && ['async', 'get', 'set', 'static', 'public', 'private', 'protected', 'override', 'readonly'].includes(p.v)) || isPunct(p, '*'));
        if (open > 0 && isPunct(toks[open], '(') && !method) definition(i, open);
      }
    }
    i++;
  }
  return {
    imports: [...imports, ...exports, ...dynamic],
    sdkImports,
    definitions: calls,
  };
}
