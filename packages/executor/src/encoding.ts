/** The compiler encodes literal strings containing `{{` as `sluice:b64:<base64>`; decode them. */
export const B64_PREFIX = 'sluice:b64:';
export function decodeParamText(text: string): string {
  return text.startsWith(B64_PREFIX) ? Buffer.from(text.slice(B64_PREFIX.length), 'base64').toString('utf8') : text;
}
