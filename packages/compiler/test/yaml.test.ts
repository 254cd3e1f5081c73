import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { toYaml, yamlString, type YamlValue } from '../src/yaml.ts';

const nasty = [
  '', ' ', 'a', 'yes', 'No', 'ON', 'off', 'y', 'N', 'null', 'Null', '~', 'true', 'False', '1', '-1', '1e3', '0x1', '0o7', '1_000', '.5', '-.inf', '.NaN', '12:30', '1:20:30',
  '{{workflow.name}}', '{{', '}}', 'a: b', 'a:b', 'a:', ':a', '# comment', 'a #b', 'a#b', '-', '- a', '--entry', '-x', '? x', '?x', '&anchor', '*alias', '!tag', '|', '>', '%TAG',
  '@at', '`tick', '"double"', "'single'", "it's", 'a, b', '[x]', '{x}', 'trailing ', ' leading', 'two  spaces', 'tab\there', 'line\nbreak', 'crlf\r\n', 'nul\u0000byte',
  'bell\u0007', 'del\u007f', 'c1\u0085', 'ls\u2028ps\u2029', 'bom\ufeff', 'unicode ✓ é 日本', 'emoji 🚀', '\\backslash', 'ghcr.io/acme/img:1.2', 'nvidia.com/gpu', 'x=y', 'a+b', '/tmp/sluice/outputs',
  '=', '<<', 'sluice:b64:e3s=', '0', '00', '+1', '1.0', '1.', 'inf', '.inf',
];

describe('YAML emitter', () => {
  it('round-trips hostile strings as values, keys and list items (YAML 1.1 and 1.2 readers)', () => {
    const obj: Record<string, unknown> = { values: nasty, map: Object.fromEntries(nasty.filter((s) => s !== '<<').map((s, i) => [s, i])), nested: nasty.map((s) => ({ s, list: [s, s] })) };
    const text = toYaml(obj as never);
    expect(parse(text, { version: '1.2' })).toEqual(obj);
    expect(parse(text, { version: '1.1' })).toEqual(obj);
  });
  it('round-trips scalars of every type and empty containers', () => {
    const obj = { n: 0, neg: -3, f: 1.5, big: 1e21, small: 1e-7, t: true, f2: false, nil: null, empty: [], none: {}, nested: [[1, [2]], [], {}], s: 'x' };
    const text = toYaml(obj);
    expect(parse(text, { version: '1.1' })).toEqual(obj);
    expect(parse(text)).toEqual(obj);
  });
  it('leaves out undefined members', () => {
    expect(toYaml({ a: 1, b: undefined, c: [1, undefined, 2] })).toBe('a: 1\nc:\n- 1\n- 2\n');
  });
  it('writes small nodes in flow style and large ones in block style', () => {
    const long = 'x'.repeat(200);
    expect(toYaml({ a: { b: 1 }, c: [long], d: { e: long } })).toBe(`a: {b: 1}\nc:\n- ${long}\nd:\n  e: ${long}\n`);
  });
  it('writes sequences one item per line, so a changed item changes one line', () => {
    const doc = (v: string) => toYaml({ args: ['--entry', 'p.ts', '--param', v], parameters: [{ name: 'a', value: v }, { name: 'b', value: 'x' }], empty: [], task: { name: 't', arguments: { parameters: [{ name: 'a', value: v }] } } });
    expect(doc('1')).toBe([
      'args:', '- --entry', '- p.ts', '- --param', "- '1'",
      'parameters:', "- {name: a, value: '1'}", '- {name: b, value: x}',
      'empty: []',
      'task:', '  name: t', '  arguments:', '    parameters:', "    - {name: a, value: '1'}", '',
    ].join('\n'));
    const before = doc('1').split('\n');
    const after = doc('2').split('\n');
    expect(before.filter((l, i) => l !== after[i])).toEqual(["- '1'", "- {name: a, value: '1'}", "    - {name: a, value: '1'}"]);
  });
  it('quotes what a resolver would not read as a string', () => {
    expect(yamlString('yes')).toBe("'yes'");
    expect(yamlString('1e3')).toBe("'1e3'");
    expect(yamlString('{{inputs.parameters.x}}')).toBe("'{{inputs.parameters.x}}'");
    expect(yamlString("it's")).toBe("'it''s'");
    expect(yamlString('a\nb')).toBe('"a\\nb"');
    expect(yamlString('main')).toBe('main');
    expect(yamlString('ghcr.io/a:1')).toBe('ghcr.io/a:1');
    expect(yamlString('ghcr.io/a:1', true)).toBe("'ghcr.io/a:1'");
  });
  it('rejects non-finite numbers', () => {
    expect(() => toYaml({ x: Number.NaN })).toThrow('cannot emit non-finite number NaN');
  });
  it('decides flow or block style by the width the same way at every depth', () => {
    // The longest value that stays in flow style: `key: {v: x…}` and `- {v: x…, w: y}` at depth d
    // (each member's room leaves 4 characters for the separators).
    for (const depth of [0, 1, 3]) {
      for (const width of [20, 40]) {
        const wrap = (v: YamlValue): YamlValue => { let o = v; for (let i = 0; i < depth; i++) o = { d: [o] }; return o; };
        const flows = (v: YamlValue, mark: string) => toYaml(wrap(v), { flowWidth: width }).includes(mark);
        const key = width - 2 * depth - 11;
        expect(flows({ key: { v: 'x'.repeat(key) } }, 'key: {'), `${depth}/${width}`).toBe(true);
        expect(flows({ key: { v: 'x'.repeat(key + 1) } }, 'key: {'), `${depth}/${width}`).toBe(false);
        const item = width - 2 * depth - 15;
        if (item >= 0) expect(flows([{ v: 'x'.repeat(item), w: 'y' }], '- {'), `${depth}/${width}`).toBe(true);
        expect(flows([{ v: 'x'.repeat(item + 1), w: 'y' }], '- {'), `${depth}/${width}`).toBe(false);
      }
    }
    expect(toYaml([{}], { flowWidth: 1 })).toBe('- {}\n');
    expect(toYaml({ a: [[1, [2]], {}], b: [] }, { flowWidth: 3 })).toBe('a:\n-\n  - 1\n  -\n    - 2\n- {}\nb: []\n');
  });
  it('decides plain or quoted by the whole string, whatever its first character', () => {
    const cases: [string, string][] = [
      ['_a', '_a'], ['/tmp/x', '/tmp/x'], ['--entry', '--entry'], ['-x', '-x'], ['Main', 'Main'], ['Zz', 'Zz'],
      ['Yes', "'Yes'"], ['ON', "'ON'"], ['Off', "'Off'"], ['N', "'N'"], ['True', "'True'"], ['nULL', "'nULL'"], ['yess', 'yess'], ['onto', 'onto'],
      ['{{tasks.a.outputs.parameters.y}}', "'{{tasks.a.outputs.parameters.y}}'"], ["{{x}}'s", "'{{x}}''s'"], ['1abc', "'1abc'"], ['.x', "'.x'"], ['~', "'~'"], ['', "''"],
      ['\u007fdel', '"\\u007fdel"'], ['a:b', 'a:b'],
    ];
    for (const [s, want] of cases) expect(yamlString(s), s).toBe(want);
    expect(yamlString('a:b', true)).toBe("'a:b'");
    expect(yamlString('a b', true)).toBe('a b');
  });
});

