// A real S3 server for the tests: s3rver on 127.0.0.1, in a process of its own. Its ListObjectsV2
// continuation tokens are DES-encrypted, which OpenSSL 3 offers only with the legacy provider:
// run this file with `node --openssl-legacy-provider`. Prints {"port":N} once listening; stops on
// SIGTERM or when its parent's stdin closes.
import S3rver from 's3rver';

const [directory, ...buckets] = process.argv.slice(2);
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: buckets.map((name) => ({ name, configs: [] })) });
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
const stop = async () => { await server.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
