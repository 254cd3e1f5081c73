/**
 * Which IR objects are known to be valid: `toIR` marks the frozen IR it validated, so that a
 * consumer (the compiler) need not validate it again. A hand-built or parsed IR is not marked
 * and is validated as usual. The mark is a WeakSet entry, not a property: the IR stays plain
 * data, and a JSON round trip drops it.
 */
const VALIDATED = new WeakSet<object>();

/**
 * @internal Marks a deep-frozen IR that passed `validatePipelineIR` (or was derived from such an
 * IR by a change validation does not look at, such as descriptions). Returns it.
 */
export function markValidated<T extends object>(ir: T): T {
  if (Object.isFrozen(ir)) VALIDATED.add(ir);
  return ir;
}

/**
 * True when `ir` is a frozen IR that `toIR` (or another marked pass) validated.
 *
 * @example
 * const ir = toIR(myPipeline);
 * isValidatedIR(ir); // true
 * isValidatedIR(JSON.parse(JSON.stringify(ir))); // false: validate it
 */
export function isValidatedIR(ir: object): boolean {
  return VALIDATED.has(ir) && Object.isFrozen(ir);
}
