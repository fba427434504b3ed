import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Message } from '../../src/index.ts'
import { INTERRUPTED_TOOL_TEXT } from '../../src/session/plan-history-repair.ts'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { type S3TestServer, startS3Server } from '../support/s3-server.ts'
import { expectValidForModel } from '../support/valid-history.ts'

const worker = fileURLToPath(new URL('../support/s3-session-worker.ts', import.meta.url))
const TURNS = 10

/** A message a restore appended for a tool call it found without a result (another device's, running). */
const isRepairAppend = (message: Message) =>
  message.role === 'user' &&
  message.content.every(
    (block) =>
      block.type === 'toolResult' &&
      block.content.some((c) => c.type === 'text' && c.text === INTERRUPTED_TOOL_TEXT),
  )

describe('two processes as two devices on one S3 session', () => {
  let server: S3TestServer
  let bucket: string
  beforeAll(async () => {
    server = await startS3Server()
    bucket = await server.createBucket()
  })
  afterAll(() => server.stop())

  function runDevice(prefix: string, label: string): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const args = [worker, server.endpoint, bucket, prefix, 'shared', label, String(TURNS), '1']
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk
      })
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk
      })
      child.on('error', reject)
      child.on('exit', (code) => {
        if (code !== 0) return reject(new Error(`device ${label} failed (${code}): ${stderr}`))
        resolve([...stdout.matchAll(/^added (.*)$/gm)].map((match) => match[1] as string))
      })
    })
  }

  it('concurrent turns with tools: every message stored exactly once, one order for every reader', async () => {
    const prefix = 'devices/'
    const labels = ['A', 'B']
    const added = (await Promise.all(labels.map((label) => runDevice(prefix, label)))).flat()

    const ref = { sessionId: 'shared', agentId: 'default' }
    const reader = () => new S3SessionRepository({ bucket, prefix, clientConfig: server.clientConfig() })
    const first = await reader().readMessages(ref)
    const second = await reader().readMessages(ref)
    // One order: two independent readers agree record for record; indexes have no gaps.
    expect(second).toEqual(first)
    expect(first.map((record) => record.index)).toEqual(first.map((_, i) => i))

    const stored = first.map((record) => record.message).filter((message) => !isRepairAppend(message))
    expect(stored.map((message) => JSON.stringify(message)).sort()).toEqual([...added].sort())
    expect(added.length).toBeGreaterThanOrEqual(labels.length * TURNS * 2)
    for (const label of labels) {
      for (let turn = 0; turn < TURNS; turn++) {
        expect(added.filter((json) => json.includes(`"reply to ${label} turn ${turn}"`))).toHaveLength(1)
      }
    }
    expectValidForModel(first.map((record) => record.message))
    // The devices really wrote at the same time: their messages interleave in the stored order.
    const writers = first.flatMap(
      (record) => JSON.stringify(record.message).match(/[AB](?= turn)/)?.[0] ?? [],
    )
    const switches = writers.filter((writer, i) => i > 0 && writer !== writers[i - 1]).length
    expect(switches).toBeGreaterThan(2)
  }, 60_000)
})
