/**
 * A small YAML emitter for the plain data the compiler produces (objects, arrays, strings,
 * finite numbers, booleans, null; `undefined` members are left out).
 *
 * Why not `yaml` or `js-yaml`: at 10,000 DAG tasks `yaml`'s stringify alone costs ~55 us/task and
 * js-yaml ~15-20 us/task, more than the whole compile budget (20 us/task); this emitter runs at
 * about JSON.stringify speed because it only handles the subset above and never builds a document
 * model.
 *
 * Layout, chosen so that a one-token change in the pipeline changes one line of a golden file:
 * sequences are always block style, one item per line; a mapping that holds no sequence goes on
 * one line in flow style when it fits (`- {name: data, from: '{{tasks.a.outputs.artifacts.data}}'}`),
 * else block style. The size limit that matters (the API server's) is on JSON, not on this text.
 *
 * Correctness: strings are emitted plain only when they match a conservative pattern that no
 * YAML 1.1 or 1.2 resolver reads as anything but a string (no `yes`/`no`/`on`/`null`/numbers/
 * leading digits/indicators); everything else is single-quoted, or double-quoted with JSON escapes
 * when it contains line breaks or control characters. The tests parse the output with `yaml` and
 * compare it with the input, for ordinary and hostile strings.
 */

/** A value the emitter accepts. */
export type YamlValue = null | boolean | number | string | undefined | readonly YamlValue[] | { readonly [key: string]: YamlValue };

export interface EmitOptions {
  /** Mappings on lines up to this width (indentation included) may be written in flow style. @default 160 */
  readonly flowWidth?: number;
}

// Plain scalars: letters, digits and a few safe punctuation marks, starting with a letter, `_` or `/`.
// A leading `-` only before another `-` or a letter (`--entry`), never a number or `- `; `:` only
// inside block scalars and never before a space or at the end.
const PLAIN = /^(?:[A-Za-z_/]|-[-A-Za-z])[A-Za-z0-9_./=+@:-]*(?: [A-Za-z0-9_./=+@:-]+)*$/;
const BAD_COLON = /:(?: |$)/;
// Words some YAML resolver (1.1 booleans, null) reads as non-strings.
const RESERVED = new Set(['y', 'yes', 'n', 'no', 'true', 'false', 'on', 'off', 'null']);
// Printable text that can sit in a single-quoted scalar: no C0/C1 controls, DEL, line/paragraph separators, BOM, lone surrogates.
// eslint-disable-next-line no-control-regex
const NOT_SINGLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function isPlain(s: string, flow: boolean): boolean {
  // PLAIN's first character (a letter, `_`, `/` or `-`), checked before the expression runs:
  // most strings that are not plain (`{{...}}` tags, numbers) fail here.
  // (An empty string is quoted; reading its first character would be out of bounds, which makes
  // V8 drop the optimized emitter and compile it again.)
  if (s.length === 0) return false;
  const c = s.charCodeAt(0) | 32;
  if (!((c >= 97 && c <= 122) || c === 127 || c === 47 || c === 45) || !PLAIN.test(s)) return false;
  // Only the reserved words' first letters (y, n, t, f, o) need the look-up.
  if (s.length <= 5 && (c === 121 || c === 110 || c === 116 || c === 102 || c === 111) && RESERVED.has(s.toLowerCase())) return false;
  // (PLAIN's characters hold none of flow style's indicators `,[]{}`: only `:` needs a look in flow.)
  return !(s.includes(':') && (flow || BAD_COLON.test(s)));
}

/** Quotes a string as a YAML scalar (plain when safe). */
export function yamlString(s: string, flow = false): string {
  if (isPlain(s, flow)) return s;
  if (!NOT_SINGLE.test(s)) return s.includes("'") ? `'${s.replaceAll("'", "''")}'` : `'${s}'`;
  // JSON escapes are valid YAML double-quoted escapes; add the ones JSON leaves raw.
  return JSON.stringify(s).replace(/[\u007f-\u009f\u2028\u2029\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// Mapping keys repeat (name, value, template, ...): quote each once.
const blockKeys = new Map<string, string>();
const flowKeys = new Map<string, string>();
function keyString(key: string, flow: boolean): string {
  const cache = flow ? flowKeys : blockKeys;
  let k = cache.get(key);
  if (k === undefined) {
    k = yamlString(key, flow);
    if (cache.size < 4096) cache.set(key, k);
  }
  return k;
}

/** A key in flow style with what precedes its value: `k: ` for the first member, `, k: ` for the others (quoted once per key). */
interface FlowKey {
  readonly first: string;
  readonly next: string;
}
const flowMembers = new Map<string, FlowKey>();
function flowKey(key: string): FlowKey {
  let k = flowMembers.get(key);
  if (k === undefined) {
    const q = yamlString(key, true);
    k = { first: `${q}: `, next: `, ${q}: ` };
    if (flowMembers.size < 4096) flowMembers.set(key, k);
  }
  return k;
}

/** True when `v` holds a non-empty sequence at any depth (then it is never written in flow style). */
function hasSequence(v: YamlValue): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return hasItems(v as readonly YamlValue[]);
  const obj = v as { readonly [key: string]: YamlValue };
  for (const key in obj) {
    const item = obj[key];
    if (item !== null && typeof item === 'object' && hasSequence(item)) return true;
  }
  return false;
}

/** True when the sequence has an item that is written (not `undefined`). */
function hasItems(a: readonly YamlValue[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== undefined) return true;
  return false;
}

function scalar(v: null | boolean | number | string, flow: boolean): string {
  if (typeof v === 'string') return yamlString(v, flow);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`cannot emit non-finite number ${v}`);
    return String(v);
  }
  return String(v);
}

function isScalar(v: YamlValue): v is null | boolean | number | string {
  return v === null || typeof v !== 'object';
}

type YamlMap = { readonly [key: string]: YamlValue };

/**
 * What comes before a value on its line: `<newline><indentation><key>:` (or `-`), and the same with
 * the space before a value on the same line. Lines are written newline first, so that writing a
 * scalar's line is two concatenations (`sp` and the value).
 */
interface Prefix {
  readonly bare: string;
  readonly sp: string;
}

/** Two spaces per level, by depth. */
const indents: string[] = [''];
/** `<newline><indentation><key>:` by depth and key, `... - <key>:` likewise, and `<newline><indentation>-` by depth. */
const keyLines: Map<string, Prefix>[] = [];
const dashKeys: Map<string, Prefix>[] = [];
const dashes: Prefix[] = [];

/*
 * These caches are the module's, not a document's: a compile writes several documents, and an
 * emitter holding arrays of its own made V8 see arrays of another shape in each document and
 * compile the emitter's methods again. The arrays grow one depth at a time and hold no holes.
 */

function indent(depth: number): string {
  while (indents.length <= depth) indents.push(`${indents[indents.length - 1]!}  `);
  return indents[depth]!;
}

/** `<indentation><lead><key>:` at `depth`, kept per depth in `maps` (at most 4,096 keys each). */
function prefix(maps: Map<string, Prefix>[], depth: number, key: string, lead: '' | '- '): Prefix {
  while (maps.length <= depth) maps.push(new Map());
  const m = maps[depth]!;
  let p = m.get(key);
  if (p === undefined) {
    const bare = `\n${indent(depth)}${lead}${keyString(key, false)}:`;
    p = { bare, sp: `${bare} ` };
    if (m.size < 4096) m.set(key, p);
  }
  return p;
}

/** `<indentation>-` at `depth`. */
function dash(depth: number): Prefix {
  while (dashes.length <= depth) {
    const bare = `\n${indent(dashes.length)}-`;
    dashes.push({ bare, sp: `${bare} ` });
  }
  return dashes[depth]!;
}

/** `<indentation><key>:` at `depth`. */
function keyLine(depth: number, key: string): Prefix {
  return prefix(keyLines, depth, key, '');
}

/** `<indentation>- <key>:` at `depth`: the first key of a block mapping in a sequence. */
function dashKeyLine(depth: number, key: string): Prefix {
  return prefix(dashKeys, depth, key, '- ');
}

/**
 * One document being written. Lines go into one string; indentation and `key:` prefixes are made
 * once per depth and key (module-wide), since a large workflow repeats the same few keys at the
 * same depths.
 */
class Emitter {
  /** The text, each line starting with its newline ({@link text} moves the first to the end). */
  out = '';
  constructor(private readonly width: number) {}

  /** The document: the lines written, each ending with its newline. */
  text(): string {
    return `${this.out.slice(1)}\n`;
  }

  /** Flow rendering of `v`, or undefined when it would be longer than `budget`. */
  flow(v: YamlValue, budget: number): string | undefined {
    if (isScalar(v)) {
      const s = scalar(v, true);
      return s.length <= budget ? s : undefined;
    }
    // Sequences are never written in flow style (one item per line keeps diffs to the item that
    // changed), except an empty one.
    if (Array.isArray(v)) return hasItems(v as readonly YamlValue[]) ? undefined : '[]';
    let s = '{';
    const obj = v as YamlMap;
    for (const key in obj) {
      const item = obj[key];
      if (item === undefined) continue;
      const fk = flowKey(key);
      // Room for the value: what is left after `k: `, and 2 for what may follow (`, ` or `}`).
      const room = budget - s.length - fk.first.length - 2;
      let f: string | undefined;
      if (item === null || typeof item !== 'object') {
        f = scalar(item as null | boolean | number | string, true);
        if (f.length > room) return undefined;
      } else {
        f = this.flow(item, room);
        if (f === undefined) return undefined;
      }
      s += (s.length === 1 ? fk.first : fk.next) + f;
      if (s.length > budget) return undefined;
    }
    s += '}';
    return s.length <= budget ? s : undefined;
  }

  /**
   * Writes `v` as the value after `prefix` (which ends with `key:` or `-`), whose children sit at
   * `depth`. `noSeq`: `v` is known to hold no sequence (its parent holds none).
   */
  node(v: YamlValue, depth: number, prefix: Prefix, inSeq: boolean, noSeq: boolean): void {
    if (v === null || typeof v !== 'object') {
      this.out += prefix.sp + scalar(v as null | boolean | number | string, false);
      return;
    }
    const seq = !noSeq && hasSequence(v);
    // The line's width without its leading newline, less the space before the value.
    const f = seq ? undefined : this.flow(v, this.width - prefix.bare.length);
    if (f !== undefined) {
      this.out += prefix.sp + f;
      return;
    }
    this.out += prefix.bare;
    if (Array.isArray(v)) {
      // Compact sequences: items at the key's indentation (or one level in for nested sequences).
      const itemDepth = inSeq ? depth + 1 : depth;
      const a = v as readonly YamlValue[];
      for (let i = 0; i < a.length; i++) if (a[i] !== undefined) this.seqItem(a[i], itemDepth);
      return;
    }
    this.mapping(v as YamlMap, depth + 1, !seq);
  }

  seqItem(item: YamlValue, depth: number): void {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      this.node(item, depth, dash(depth), true, false);
      return;
    }
    const seq = hasSequence(item);
    const f = seq ? undefined : this.flow(item, this.width - 2 * depth - 2);
    if (f !== undefined) {
      this.out += dash(depth).sp + f;
      return;
    }
    // First key on the dash line, the rest aligned under it.
    const obj = item as YamlMap;
    let first = true;
    for (const key in obj) {
      const val = obj[key];
      if (val === undefined) continue;
      const prefix = first ? dashKeyLine(depth, key) : keyLine(depth + 1, key);
      first = false;
      this.node(val, depth + 1, prefix, false, !seq);
    }
    if (first) this.out += `${dash(depth).sp}{}`;
  }

  mapping(obj: YamlMap, depth: number, noSeq: boolean): void {
    for (const key in obj) {
      const val = obj[key];
      if (val === undefined) continue;
      this.node(val, depth, keyLine(depth, key), false, noSeq);
    }
  }
}

/**
 * Serialises `value` as a YAML document (block style; small mappings without sequences in flow style).
 *
 * @example
 * toYaml({ kind: 'Workflow', spec: { entrypoint: 'main' } }) // "kind: Workflow\nspec:\n  entrypoint: main\n"
 */
export function toYaml(value: YamlValue, options: EmitOptions = {}): string {
  const width = options.flowWidth ?? 160;
  const e = new Emitter(width);
  if (isScalar(value)) return `${scalar(value, false)}\n`;
  if (Array.isArray(value)) {
    const f = e.flow(value, width);
    if (f !== undefined) return `${f}\n`;
    for (const item of value as readonly YamlValue[]) if (item !== undefined) e.seqItem(item, 0);
    return e.text();
  }
  const obj = value as YamlMap;
  let any = false;
  for (const k in obj) if (obj[k] !== undefined) any = true;
  if (!any) return '{}\n';
  e.mapping(obj, 0, false);
  return e.text();
}
