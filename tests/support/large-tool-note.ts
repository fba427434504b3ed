/**
 * What the test worker's `lookup` tool adds to its result on each writer's second turn: over
 * 16 KiB, so that on S3 the tool result is a large message (stored once, in a blob of its own), and
 * a fresh-process restore must bring it back whole.
 */
export const LARGE_TOOL_NOTE = 'n'.repeat(20_000)

/** Whether the tool is answering a second turn's prompt ("P2 turn 1"). */
export const wantsLargeResult = (key: string): boolean => key.endsWith(' turn 1')
