/** Runs the SDK validator on IR read from stdin and prints the issues as JSON (see validate.ts). */
import { validatePipelineIR } from '@sluice/sdk';

const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
process.stdout.write(JSON.stringify(validatePipelineIR(JSON.parse(Buffer.concat(chunks).toString('utf8')))));
