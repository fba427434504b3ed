/**
 * Runs s3rver (an S3-compatible server on the local file system) for the tests, in its own process:
 * s3rver signs LIST continuation tokens with DES, which Node 24's OpenSSL 3 only offers with
 * `--openssl-legacy-provider`, a flag for the whole process. Prints `{"port":N}` once listening;
 * exits when its parent closes stdin, so a crashed test run leaves no server behind. Plain
 * JavaScript, so it runs under whichever Node starts it (the tests' 24, or a bench under 20).
 * Usage: node --openssl-legacy-provider s3-server-process.mjs <directory>
 */
import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'

const directory = process.argv[2]
if (!directory) throw new Error('usage: s3-server-process.mjs <directory>')

const require = createRequire(import.meta.url)
const S3rver = require('s3rver')
const FilesystemStore = require('s3rver/lib/stores/filesystem')

// A PUT on S3 (and Ceph, MinIO, R2) replaces an object whole or not at all. s3rver writes the body
// straight into the object's file: a connection cut or a client killed mid-upload leaves the key
// holding the first part of the body (an existing key keeps its old metadata), damage no real store
// makes, which failed the sync chaos test now and then (an empty session.json on the remote). So
// here the body goes to a temporary file, which replaces the object only once it arrived whole.
FilesystemStore.prototype.putObject = async function putObjectWhole(object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object')
  await mkdir(dirname(objectPath), { recursive: true })
  const partial = `${objectPath}.partial-${randomBytes(6).toString('hex')}`
  const md5 = createHash('md5')
  let size = 0
  try {
    if (Buffer.isBuffer(object.content)) {
      await writeFile(partial, object.content)
      md5.update(object.content)
      size = object.content.length
    } else {
      const count = new Transform({
        transform(chunk, _encoding, callback) {
          md5.update(chunk)
          size += chunk.length
          callback(null, chunk)
        },
      })
      // Rejects when the request is aborted mid-body.
      await pipeline(object.content, count, createWriteStream(partial))
    }
    const declared = object.metadata['content-length']
    if (declared !== undefined && Number(declared) !== size) {
      throw new Error(`received ${size} of ${declared} bytes`)
    }
    await rename(partial, objectPath)
  } catch (error) {
    await rm(partial, { force: true })
    throw error
  }
  const digest = md5.digest('hex')
  await this.putMetadata(object.bucket, object.key, object.metadata, digest)
  return { size, md5: digest }
}

const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory })
const { port } = await server.run()
process.stdout.write(`${JSON.stringify({ port })}\n`)
process.stdin.resume()
process.stdin.on('end', () => {
  void server.close().finally(() => process.exit(0))
})
