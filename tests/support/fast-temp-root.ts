import { existsSync, statfsSync } from 'node:fs'
import { tmpdir } from 'node:os'

const SHARED_MEMORY = '/dev/shm'
/** Room the test servers' data may take at once (several s3rver stores and the Ceph monitor). */
const ENOUGH_ROOM = 1024 ** 3

/**
 * Where test servers (s3rver, the Ceph monitor) keep their data: in memory (tmpfs) where Linux
 * offers it with room to spare, else the usual temp directory. Their many small synced writes cost
 * no disk journal there (the multi-device S3 suites used less than half the CPU). A container's
 * /dev/shm is often 64 MB, too small, so its free space is checked first.
 */
export function fastTempRoot(): string {
  try {
    if (existsSync(SHARED_MEMORY)) {
      const { bavail, bsize } = statfsSync(SHARED_MEMORY)
      if (bavail * bsize >= ENOUGH_ROOM) return SHARED_MEMORY
    }
  } catch {
    // No statfs on this platform, or /dev/shm unreadable: the temp directory works everywhere.
  }
  return tmpdir()
}
