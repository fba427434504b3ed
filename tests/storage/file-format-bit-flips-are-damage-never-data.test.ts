import { describe, expect, it } from 'vitest'
import { bitFlipSweep } from '../../bench/file-bit-flip-sweep.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

describe('a flipped bit anywhere in a stored session', () => {
  const tempDirectory = useTempDirectories()

  it('is reported as damage or changes nothing: never read as different data', async () => {
    // Every 29th byte of every file of the session, one bit each (`npm run bench` sweeps every byte).
    const result = await bitFlipSweep(await tempDirectory(), 29)
    expect(result.examples).toEqual([])
    expect(result.silent).toBe(0)
    expect(result.flips).toBeGreaterThan(500)
    // The sweep really hit records: many flips were reported as damage.
    expect(result.reported).toBeGreaterThan(50)
  }, 120_000)
})
