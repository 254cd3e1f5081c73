/**
 * GPU type, once. `resources.gpu.type` names a GPU product as NVIDIA's GPU feature discovery
 * labels nodes (`nvidia.com/gpu.product`, e.g. `NVIDIA-H100-80GB-HBM3`: the product name as
 * `nvidia-smi` prints it, with spaces as `-`). On Argo it becomes that `nodeSelector`; locally
 * the runner checks it against the detected GPUs' names and refuses the task with a clear message
 * when no GPU of this machine is of that type (the place where a CUDA/driver preflight will live).
 * The comparison is exact, as a node selector's is.
 */

/** The node label Argo selects on for a GPU type. */
export const GPU_PRODUCT_LABEL = 'nvidia.com/gpu.product';

/** A GPU's product label from its `nvidia-smi` name: `NVIDIA H100 80GB HBM3` → `NVIDIA-H100-80GB-HBM3`. */
export function gpuProductLabel(name: string): string {
  return name.trim().replace(/\s+/g, '-');
}

/**
 * Why GPUs of these names cannot serve a task that wants `type`, or `undefined` when at least
 * `count` of them are of that type.
 */
export function gpuTypeProblem(type: string, count: number, names: readonly (string | undefined)[], what: string): string | undefined {
  const matching = names.filter((n) => n !== undefined && gpuProductLabel(n) === type).length;
  if (matching >= count) return undefined;
  const found = names.map((n, i) => `${i}: ${n === undefined ? 'unknown model' : `${n} (${GPU_PRODUCT_LABEL}=${gpuProductLabel(n)})`}`).join(', ');
  return `${what} wants ${count} GPU${count === 1 ? '' : 's'} of type ${type} (on Argo: nodeSelector ${GPU_PRODUCT_LABEL}=${type}), but ${names.length ? `this machine has ${found}` : 'this machine has no GPU'}; use the type this machine reports, or drop the type to run on any GPU`;
}
