/**
 * Name rules, once. Task ids (and pipeline names) are DNS-1123 labels that start with a letter:
 * lowercase letters, digits and `-`, at most 63 characters, starting with a letter and ending
 * with a letter or digit. A digit first is refused by the SDK, the runner and the compiler alike,
 * because Argo refuses digit-first DAG task names in `depends`.
 *
 * Kubernetes-safe derived names: a name that has to be changed keeps a readable prefix and gains
 * a short content hash of the original, so two different inputs never collapse to the same name.
 */
import { sha256 } from './json.ts';

/** The task id grammar. */
export const TASK_ID = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PARAM_NAME = /^[-a-zA-Z0-9_]+$/;

/** Why `id` is not a valid task id, or `undefined` when it is. */
export function taskIdProblem(id: string): string | undefined {
  if (TASK_ID.test(id)) return undefined;
  if (/^[0-9]/.test(id)) return `task id "${id}" starts with a digit; ids start with a letter (Argo refuses digit-first task names)`;
  return `invalid id "${id}": expected lowercase letters, digits and '-', starting with a letter, at most 63 characters`;
}

export function shortHash(text: string, length = 8): string {
  return sha256(text).slice(0, length);
}

export function isDnsLabel(name: string, max = 63): boolean {
  return name.length <= max && DNS_LABEL.test(name);
}

/** `name` if it already is a DNS-1123 label, else a sanitised prefix plus a hash of `name`. */
export function dnsLabel(name: string, max = 63): string {
  if (isDnsLabel(name, max)) return name;
  const hash = shortHash(name);
  const cleaned = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-+|-+$/g, '');
  const prefix = cleaned.slice(0, max - hash.length - 1).replace(/-+$/, '');
  return prefix ? `${prefix}-${hash}` : `x-${hash}`.slice(0, max);
}

/** An Argo parameter/artifact name (`[-a-zA-Z0-9_]+`), kept when valid, else sanitised + hash. */
export function argoParamName(name: string, max = 63): string {
  if (name.length <= max && PARAM_NAME.test(name)) return name;
  const hash = shortHash(name);
  const cleaned = name.replace(/[^-a-zA-Z0-9_]+/g, '_');
  return `${cleaned.slice(0, max - hash.length - 1)}-${hash}`;
}

// An image reference as the kubelet and Docker parse it (the distribution/reference grammar):
// [host[:port]/]path[:tag][@digest], path components lowercase alphanumerics joined by `.`, `_`,
// `__` or dashes; a tag word characters, `.` and `-` (at most 128); a digest `algorithm:hex`.
const HOST = String.raw`(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?`;
const PATH_PART = String.raw`[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`;
const IMAGE = new RegExp(String.raw`^(?:${HOST}/)?${PATH_PART}(?:/${PATH_PART})*(?::\w[\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$`);

/**
 * Whether `image` is a reference a node can pull (`ghcr.io/acme/train:1.4`, `python:3.12-slim`,
 * `registry:5000/team/img@sha256:…`): a pod with any other image fails at run time
 * (`InvalidImageName`), never at submission. The name part is at most 255 characters.
 */
export function isImageReference(image: string): boolean {
  const name = image.replace(/@.*$/, '').replace(/:[\w.-]*$/, '');
  return name.length <= 255 && IMAGE.test(image);
}
