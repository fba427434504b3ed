import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect } from 'vitest'
import type { Message } from '../../src/index.ts'
import { messageText } from '../../src/messages/message.ts'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { type CuttableProxy, startCuttableProxy } from '../support/cuttable-proxy.ts'
import { contextOf, runDeviceOk } from '../support/run-sync-device.ts'
import {
  S3_TARGETS,
  type S3TargetKind,
  type S3TestTarget,
  TARGET_START_TIMEOUT,
} from '../support/s3-targets.ts'
import { expectValidForModel } from '../support/valid-history.ts'

export const sessionId = 'shared-notes'

/** The user prompts of a history, in order (a prompt is a user message with text). */
export const promptsOf = (messages: Message[]): string[] =>
  messages.filter((message) => message.role === 'user' && messageText(message) !== '').map(messageText)

/** The remote history, read straight from the store (not through the cuttable proxy). */
export async function remoteHistory(server: S3TestTarget, bucket: string): Promise<Message[]> {
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
  server: S3TestTarget
  bucket: string
  endpoint: string
  devices: string[]
  fresh: string
  acknowledged: string[]
}): Promise<Message[]> {
  const { bucket, endpoint } = input
  const truth = await remoteHistory(input.server, input.bucket)
  const { credentials } = input.server
  await runDeviceOk({
    directory: input.fresh,
    endpoint,
    bucket,
    sessionId,
    credentials,
    label: 'fresh',
    sync: true,
  })
  for (const directory of [...input.devices, input.fresh]) {
    const restored = await runDeviceOk({
      directory,
      endpoint,
      bucket,
      sessionId,
      credentials,
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
  server: S3TestTarget
  /** Between the devices and the store: the test cuts it to take every device offline. */
  proxy: CuttableProxy
  /** A temp directory for the devices' local directories. */
  root: string
}

/**
 * Starts the S3 target (s3rver by default; the run's shared Ceph RGW), a cuttable proxy and a temp
 * directory for the suite's tests; stops them after.
 */
export function useSyncNetwork(target: S3TargetKind = S3_TARGETS[0] as S3TargetKind): () => SyncNetwork {
  let network: SyncNetwork | undefined
  beforeAll(async () => {
    const server = await target.start()
    network = {
      server,
      proxy: await startCuttableProxy(server.port),
      root: await mkdtemp(join(tmpdir(), 'tether-sync-')),
    }
  }, TARGET_START_TIMEOUT)
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
