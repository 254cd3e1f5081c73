import { TrackingError } from './events.ts';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** Model and alias names: what MLflow accepts and a URL carries without escaping. */
export function checkModelName(name: string, what = 'model name'): string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) throw new TrackingError('registry.name', `invalid ${what} ${JSON.stringify(name)}: expected 1-128 letters, digits, '_', '.' or '-', starting with a letter or digit`);
  return name;
}
