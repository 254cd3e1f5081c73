/**
 * Parameter encoding of the executor contract is the SDK's (`EXEC_FLAG.paramBase64`,
 * `decodeBase64`, `parseParamText`): a value passed with `--param-b64` is base64 of its text, one
 * passed with `--param` is the text itself. The flag says which, so no value can forge an encoding.
 */
export { decodeBase64, parseParamText } from '@sluice/sdk';
