import type { SlotKey } from './s3-key-layout.ts'

export type Decided = Extract<SlotKey, { kind: 'decided' }>

/** One link of a format-2 log's batch chain: slot `slot`'s batch holds messages [start, end). */
export interface BatchLink {
  slot: number
  value: string
  start: number
  end: number
}

/**
 * Format 2: the slots whose batches hold the messages after the last sealed segment of `top`,
 * newest first, worked out from decided keys alone (each names its count): an append's batch holds
 * [count of the slot below, its count); an update's (same count as the slot below) holds every
 * unsealed message, so the chain stops there. Null if `decided` lacks a slot the chain needs.
 */
export function batchChain(
  top: Decided,
  segmentSize: number,
  decided: Map<number, Decided>,
): BatchLink[] | null {
  const sealedEnd = Math.floor(top.count / segmentSize) * segmentSize
  const links: BatchLink[] = []
  let current = top
  for (;;) {
    const below = current.slot === 0 ? 0 : decided.get(current.slot - 1)?.count
    if (below === undefined) return null
    const update = current.slot > 0 && below === current.count
    const start = update ? Math.floor(current.count / segmentSize) * segmentSize : below
    links.push({ slot: current.slot, value: current.value, start, end: current.count })
    if (start <= sealedEnd) return links
    const next = decided.get(current.slot - 1)
    if (next === undefined) return null
    current = next
  }
}
