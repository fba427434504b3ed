import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect } from 'vitest'
import type { Message } from '../../src/index.ts'
import { messageText } from '../../src/messages/message.ts'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { type CuttableProxy, startCuttableProxy } from '../support/cuttable-proxy.ts'
import { contextOf, runDeviceOk } from '../support/run-sync-device.ts'
import { type S3TestServer, startS3Server } from '../support/s3-server.ts'
import { expectValidForModel } from '../support/valid-history.ts'

export const sessionId = 'shared-notes'

/** The user prompts of a history, in order (a prompt is a user message with text). */
export const promptsOf = (messages: Message[]): string[] =>
  messages.filter((message) => message.role === 'user' && messageText(message) !== '').map(messageText)

/** The remote history, read straight from s3rver (not through the cuttable proxy). */
export async function remoteHistory(server: S3TestServer, bucket: string): Promise<Message[]> {
  const remote = new S3SessionRepository({ bucket, prefix: 'sync/', clientConfig: server.clientConfig() })
  return (await remote.readMessages({ sessionId, agentId: 'default' })).map((record) => record.message)
}

/**
 * What users see after the devices synced: each device's local history, restored by a fresh agent
 * (NullConversationManager) in a fresh process without syncing, and a third device that never ran
 * before, which syncs once and is then restored the same way. All equal the remote history
 * exactly (every message once, ids included); every acknowledged prompt is in it exactly once, no
 * prompt twice; and the model would be sent each tool call followed by its result.
 */
export async function expectEveryoneSeesTheRemoteHistory(input: {
  server: S3TestServer
  bucket: string
  endpoint: string
  devices: string[]
  fresh: string
  acknowledged: string[]
}): Promise<Message[]> {
  const { bucket, endpoint } = input
  const truth = await remoteHistory(input.server, input.bucket)
  await runDeviceOk({ directory: input.fresh, endpoint, bucket, sessionId, label: 'fresh', sync: true })
  for (const directory of [...input.devices, input.fresh]) {
    const restored = await runDeviceOk({
      directory,
      endpoint,
      bucket,
      sessionId,
      label: 'reader',
      printContext: true,
    })
    expect(contextOf(restored.stdout), `restored on ${directory}`).toEqual(truth)
  }
  expect(new Set(truth.map((message) => message.id)).size, 'every message once').toBe(truth.length)
  const prompts = promptsOf(truth)
  expect(new Set(prompts).size, 'no prompt twice').toBe(prompts.length)
  for (const prompt of input.acknowledged) expect(prompts, `acknowledged "${prompt}"`).toContain(prompt)
  expectValidForModel(truth)
  return truth
}

export interface SyncNetwork {
  server: S3TestServer
  /** Between the devices and s3rver: the test cuts it to take every device offline. */
  proxy: CuttableProxy
  /** A temp directory for the devices' local directories. */
  root: string
}

/** Starts s3rver, a cuttable proxy and a temp directory for the file's tests; stops them after. */
export function useSyncNetwork(): () => SyncNetwork {
  let network: SyncNetwork | undefined
  beforeAll(async () => {
    const server = await startS3Server()
    network = {
      server,
      proxy: await startCuttableProxy(server.port),
      root: await mkdtemp(join(tmpdir(), 'tether-sync-')),
    }
  })
  afterAll(async () => {
    await network?.proxy.stop()
    await network?.server.stop()
    if (network) await rm(network.root, { recursive: true, force: true })
  })
  return () => {
    if (!network) throw new Error('the sync network is not started')
    return network
  }
}
