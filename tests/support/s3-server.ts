import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CreateBucketCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3'
import { fastTempRoot } from './fast-temp-root.ts'

const script = fileURLToPath(new URL('./s3-server-process.mjs', import.meta.url))

/** Credentials s3rver accepts; it listens on 127.0.0.1 only. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }

export interface S3TestServer {
  endpoint: string
  port: number
  /** Client config for this server (or for `endpoint`, e.g. a proxy in front of it). */
  clientConfig(endpoint?: string): S3ClientConfig
  createBucket(name?: string): Promise<string>
  stop(): Promise<void>
}

let buckets = 0

/** Starts s3rver in a child process on a free loopback port, with its data in a temp directory. */
export async function startS3Server(): Promise<S3TestServer> {
  // s3rver keeps each object as files (data, metadata): in memory where there is room.
  const directory = await mkdtemp(join(fastTempRoot(), 'tether-s3rver-'))
  const child: ChildProcess = spawn(process.execPath, ['--openssl-legacy-provider', script, directory], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const port = await new Promise<number>((resolve, reject) => {
    let output = ''
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`s3rver exited early (${code})`)))
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk
      const line = output.split('\n')[0]
      if (output.includes('\n') && line) resolve((JSON.parse(line) as { port: number }).port)
    })
  })
  const endpoint = `http://127.0.0.1:${port}`
  const clientConfig = (at = endpoint): S3ClientConfig => ({
    endpoint: at,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: S3RVER_CREDENTIALS,
  })
  const admin = new S3Client({ ...clientConfig(), requestChecksumCalculation: 'WHEN_REQUIRED' })
  return {
    endpoint,
    port,
    clientConfig,
    async createBucket(name = `tether-${process.pid}-${Date.now().toString(36)}-${buckets++}`) {
      await admin.send(new CreateBucketCommand({ Bucket: name }))
      return name
    },
    async stop() {
      admin.destroy()
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.stdin?.end()
      await exited
      await rm(directory, { recursive: true, force: true })
    },
  }
}
