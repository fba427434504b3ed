/**
 * Runs s3rver (an S3-compatible server on the local file system) for the tests, in its own process:
 * s3rver signs LIST continuation tokens with DES, which Node 24's OpenSSL 3 only offers with
 * `--openssl-legacy-provider`, a flag for the whole process. Prints `{"port":N}` once listening;
 * exits when its parent closes stdin, so a crashed test run leaves no server behind. Plain
 * JavaScript, so it runs under whichever Node starts it (the tests' 24, or a bench under 20).
 * Usage: node --openssl-legacy-provider s3-server-process.mjs <directory>
 */
import { createRequire } from 'node:module'

const directory = process.argv[2]
if (!directory) throw new Error('usage: s3-server-process.mjs <directory>')

const require = createRequire(import.meta.url)
const S3rver = require('s3rver')

const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory })
const { port } = await server.run()
process.stdout.write(`${JSON.stringify({ port })}\n`)
process.stdin.resume()
process.stdin.on('end', () => {
  void server.close().finally(() => process.exit(0))
})
