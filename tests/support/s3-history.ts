import type { Message } from '../../src/index.ts'
import type { S3SessionRepository } from '../../src/storage/s3/index.ts'

export const turnMessage = (i: number): Message =>
  i % 2 === 0
    ? { role: 'user', content: [{ type: 'text', text: `question ${i / 2}: what comes after ${i}?` }] }
    : { role: 'assistant', content: [{ type: 'text', text: `answer ${(i - 1) / 2}: ${i + 1} comes next.` }] }

/**
 * Builds a session of `count` alternating user/assistant messages fast: `batch` messages per slot
 * through the repository's bulk import (the layout appends produce, in fewer slots), the last
 * message on its own so the tail is the usual size, plus an agent record whose 40-message window
 * ends at the head, as a sliding-window agent leaves it.
 */
export async function populateHistory(
  repository: S3SessionRepository,
  sessionId: string,
  count: number,
  { window = 40, batch = 1000 }: { window?: number; batch?: number } = {},
): Promise<void> {
  const ref = { sessionId, agentId: 'default' }
  await repository.createSession({ sessionId })
  for (let start = 0; start < count; ) {
    const size = Math.max(1, Math.min(batch, count - 1 - start))
    await repository.importMessages(
      ref,
      Array.from({ length: size }, (_, i) => turnMessage(start + i)),
    )
    start += size
  }
  const windowStart = Math.max(0, count - window)
  await repository.writeAgent({
    ...ref,
    state: {},
    conversationManagerState: { type: 'sliding-window', removedMessageCount: windowStart },
    windowStart,
  })
}
