/**
 * A container component's command, rendered once with one meaning for the local runner and the
 * compiler; each side says how to spell a placeholder where it runs.
 *
 * - `literal`: the text as is.
 * - `inputValue`: the input's text form (a `string` as is, other types JSON).
 * - `inputPath` of an artifact: the path of the artifact; of a **parameter**: the path of a file
 *   holding the parameter's text form (Argo: a raw input artifact; locally: a file in the attempt's
 *   inputs directory).
 * - `outputPath`: `<outputs>/parameters/<name>` or `<outputs>/artifacts/<name>`, by the output's kind.
 * - `concat`: the parts joined.
 */
import type { ArgIR, ContainerComponentIR } from '../ir.ts';

/** How one side spells the placeholders of a container command. */
export interface ArgvSpelling {
  literal(text: string): string;
  inputValue(input: string): string;
  inputPath(input: string, kind: 'parameter' | 'artifact'): string;
  outputPath(output: string, kind: 'parameter' | 'artifact'): string;
}

/** The argv of a container component, spelled by `s`. */
export function renderArgv(comp: Pick<ContainerComponentIR, 'command' | 'inputs' | 'outputs'>, s: ArgvSpelling): string[] {
  const one = (a: ArgIR): string => {
    switch (a.kind) {
      case 'literal': return s.literal(a.value);
      case 'inputValue': return s.inputValue(a.input);
      case 'inputPath': return s.inputPath(a.input, comp.inputs[a.input]?.kind === 'parameter' ? 'parameter' : 'artifact');
      case 'outputPath': return s.outputPath(a.output, comp.outputs[a.output]?.kind === 'parameter' ? 'parameter' : 'artifact');
      case 'concat': return a.parts.map(one).join('');
    }
  };
  return comp.command.map(one);
}

/**
 * Escapes text for a Kubernetes container's `command`, `args` or `env` value: Kubernetes expands
 * `$(VAR)` there and reduces `$$` to `$`, so every `$` of a user value is written `$$`.
 *
 * @example
 * kubeEscape('$(HF_TOKEN) costs $$5') // '$$(HF_TOKEN) costs $$$$5'
 */
export function kubeEscape(text: string): string {
  return text.replace(/\$/g, '$$$$');
}
