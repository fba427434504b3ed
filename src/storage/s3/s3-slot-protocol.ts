import { randomBytes } from 'node:crypto'
import { DamagedRecordError, StorageError } from '../../session/session-errors.ts'
import { type AgentKeys, type Ballot, ballotName, compareBallots, type SlotKey } from './s3-key-layout.ts'
import type { ListPage, S3ObjectStore } from './s3-object-store.ts'
import { decodeTail, encode, type Tail, tailEnd } from './s3-record-codec.ts'
import { sleep } from './s3-retry-policy.ts'

/**
 * Deciding what each log slot holds, with PUT and LIST only: no conditional writes.
 *
 * S3 without `If-None-Match` is a set of read/write registers, and two writers racing for one
 * index is a consensus problem that registers cannot solve wait-free (Herlihy, 1991). What they
 * can do is Disk Paxos (Gafni and Lamport, 2003): every writer writes only its own keys and reads
 * everyone's with one LIST, and no step's safety depends on timing or clocks. Per slot:
 *
 *   prepare  PUT p~<ballot> (the first one carries the proposed tail), LIST. A higher ballot from
 *            another writer: back off and retry higher. Otherwise adopt the accepted value with
 *            the highest ballot, or propose our own.
 *   accept   PUT a~<ballot>~<value>, LIST. No higher ballot appeared: the value is decided.
 *   decided  write the segments it seals, then PUT d~<count>~<value>. Readers trust only d~ keys.
 *
 * Why it holds: each writer writes before it reads, so of two writers racing at the same step at
 * least one sees the other (S3 LIST is strongly consistent since December 2020; so are MinIO,
 * R2 and s3rver). A value decided at a ballot is adopted by every higher ballot, so a slot can be
 * decided only once, and a writer that crashes mid-slot leaves keys the next writer finishes.
 * Progress under contention comes from randomized backoff; a crashed writer never blocks anyone.
 */

export interface LogView {
  /** Keys of the slots listed so far, by slot (the newest slots first in the listing). */
  slots: Map<number, SlotKey[]>
  /** The newest decided slot, or null for an empty log. */
  top: Extract<SlotKey, { kind: 'decided' }> | null
}

/** What the proposer built on: the slot below its own and the value decided there. */
export interface Base {
  slot: number
  value: string | null
}

export type SlotOutcome =
  | { kind: 'won'; value: string; tail: Tail }
  /** Another value was decided; the log's newest decided slot is `view.top`. */
  | { kind: 'lost'; view: LogView }
  /** The log changed under us (deleted, or the base is gone): start again from a fresh read. */
  | { kind: 'restart' }
  /**
   * `giveUpIfContended` was set and a higher ballot competes before any accept of ours exists:
   * nothing of ours can be decided (our prepare is removed). `highest` is the highest round seen,
   * for the caller's next proposal at this slot to start above it.
   */
  | { kind: 'contended'; highest: number }

const MAX_ROUNDS = 64
/** Keys per LIST of the log: the newest slots and the newest decided key, in the usual case. */
const LIST_PAGE = 12
/** Sweep old slots' keys every this many slots. */
const SWEEP_EVERY = 8
/** List the whole log for garbage every this many slots (a multiple of SWEEP_EVERY). */
const FULL_SWEEP_EVERY = 512

export class SlotProtocol {
  readonly store: S3ObjectStore
  readonly keys: AgentKeys

  constructor(store: S3ObjectStore, keys: AgentKeys) {
    this.store = store
    this.keys = keys
  }

  /**
   * Lists the log from its newest key until the newest decided slot is seen: usually one request.
   * `first` is a page already listed from the top of the log (the layout check's).
   */
  async view(first?: ListPage): Promise<LogView> {
    const slots = new Map<number, SlotKey[]>()
    let startAfter: string | undefined
    let given = first
    for (;;) {
      const page =
        given ??
        (await this.store.list(this.keys.log, {
          maxKeys: LIST_PAGE,
          ...(startAfter === undefined ? {} : { startAfter }),
        }))
      given = undefined
      for (const key of page.keys) {
        const parsed = this.keys.parse(key)
        const group = slots.get(parsed.slot) ?? []
        group.push(parsed)
        slots.set(parsed.slot, group)
        if (parsed.kind === 'decided') return { slots, top: parsed }
      }
      startAfter = page.keys.at(-1)
      if (!page.truncated || startAfter === undefined) return { slots, top: null }
    }
  }

  /** The decided key of one slot, listed directly (for a slot below the newest). */
  async decidedAt(slot: number): Promise<Extract<SlotKey, { kind: 'decided' }> | null> {
    for await (const page of this.store.listAll(this.keys.slotDir(slot))) {
      for (const key of page) {
        const parsed = this.keys.parse(key)
        if (parsed.kind === 'decided') return parsed
      }
    }
    return null
  }

  /**
   * Runs Disk Paxos for `slot` until it is decided, proposing `tail`. Returns `won` only if our
   * tail was decided. A proposal whose value was ever accepted is driven to a decision before
   * returning, so it can never be decided later behind the caller's back: a lost append really
   * wrote no message, which is what `expectedIndex` promises and what keeps retries from
   * duplicating a message. Prepares left by crashed writers are outbid, never waited for: a
   * proposal that gives up (`giveUpIfContended`, for a compare-and-append, which then reports a
   * conflict and is retried by its caller) starts its next try above every round it saw
   * (`fromRound`). Until 0.1 the retry started at round 1, below the leftovers of writers killed
   * mid-slot, and lost to them every time: a restore's repair failed (issue 9).
   */
  async decide(
    slot: number,
    base: Base,
    tail: Tail,
    options: { giveUpIfContended?: boolean; fromRound?: number } = {},
  ): Promise<SlotOutcome> {
    // A fresh writer ID per proposal: a ballot (and so a key) is never reused, even by one process
    // proposing twice at the same slot from a stale view. Reusing one would overwrite a decided tail.
    const writer = randomBytes(8).toString('hex')
    let round = Math.max(1, options.fromRound ?? 1)
    let oursAccepted = false
    let ours: string | undefined
    for (let attempt = 0; attempt < MAX_ROUNDS; attempt++) {
      const ballot: Ballot = { round, writer }
      // Named before the PUT: a PUT that fails may still have landed, and its key must be ours.
      const carriesTail = ours === undefined
      if (carriesTail) ours = ballotName(ballot)
      await this.store.put(this.keys.prepare(slot, ballot), carriesTail ? encode(tail) : '-\n')
      let view = await this.view()
      let state = this.#check(view, slot, base, ballot)
      if (state.kind === 'ok') {
        const value = state.accepted?.value ?? (ours as string)
        if (value === ours) oursAccepted = true
        await this.store.put(this.keys.accept(slot, ballot, value), '-\n')
        view = await this.view()
        state = this.#check(view, slot, base, ballot)
        if (state.kind === 'ok') {
          const decidedTail = value === ours ? tail : await this.#proposalTail(slot, value)
          await this.complete(slot, value, decidedTail)
          if (value === ours) return { kind: 'won', value, tail }
          await this.#dropLoser(slot, view, writer)
          return { kind: 'lost', view: await this.view() }
        }
      }
      if (state.kind === 'decided') {
        const decided = view.top?.slot === slot ? view.top : await this.decidedAt(slot)
        if (decided === null) return { kind: 'restart' }
        if (decided.value === ours) return { kind: 'won', value: decided.value, tail }
        await this.#dropLoser(slot, view, writer)
        return { kind: 'lost', view }
      }
      if (state.kind === 'restart') return state
      // Outbid. If none of our accepts exists, our tail can never be chosen: a compare-and-append
      // may stop here (fewer duelling proposers), removing its prepare, which nobody can adopt.
      if (options.giveUpIfContended && !oursAccepted) {
        await this.#dropLoser(slot, view, writer)
        return { kind: 'contended', highest: Math.max(round, state.highest) }
      }
      round = Math.max(round, state.highest) + 1
      // Full-jitter backoff up to 3 s: a round is 4 requests, and with several devices on a slow
      // store (hundreds of ms a round) a 400 ms ceiling let 6 of them collide for 64 rounds.
      await sleep(Math.random() * Math.min(3_000, 10 * 2 ** Math.min(attempt, 9)))
    }
    throw new StorageError(
      'append to',
      `${this.store.where(this.keys.log)} (slot ${slot} stayed contended for ${MAX_ROUNDS} rounds)`,
    )
  }

  /**
   * Makes a decided slot visible: first the segments it seals and rewrites (so a decided key
   * never points past a segment that is missing), then the decided key. Every writer that
   * learns the decision writes the same bytes, so a repeat or a race between them is harmless.
   */
  async complete(slot: number, value: string, tail: Tail): Promise<void> {
    const size = tail.segmentSize
    const count = tailEnd(tail)
    const before = count - tail.appended
    const writes: Promise<unknown>[] = []
    for (let segment = Math.floor(before / size); (segment + 1) * size <= count; segment++) {
      if ((segment + 1) * size <= before) continue
      const from = segment * size - tail.start
      writes.push(
        this.store.put(
          this.keys.segment(segment, 0),
          encode({
            schemaVersion: 1,
            kind: 'segment',
            segment,
            start: segment * size,
            records: tail.records.slice(from, from + size),
          }),
        ),
      )
    }
    for (const rewrite of tail.rewrites) {
      writes.push(
        this.store.put(
          this.keys.segment(rewrite.segment, rewrite.revision),
          encode({
            schemaVersion: 1,
            kind: 'segment',
            segment: rewrite.segment,
            start: rewrite.segment * size,
            records: rewrite.records,
          }),
        ),
      )
    }
    await Promise.all(writes)
    await this.store.put(this.keys.decided(slot, count, value), '-\n', { ifNoneMatch: true })
    if (slot % SWEEP_EVERY === 0 || tail.appended === 0) await this.sweep(slot, value, tail)
  }

  /**
   * Deletes what older slots no longer need: their prepares (old tails) and accepts, and the
   * losing proposals of this slot. Decided keys stay, so a writer that paused mid-slot for any
   * length of time still learns how its slot ended. After an append, best effort: a failed sweep
   * leaves garbage for the next one, never a gap. It is also how an update (a redaction) removes
   * the old copies of a message; that failure is thrown.
   */
  async sweep(slot: number, value: string, tail: Tail): Promise<void> {
    try {
      const doomed: string[] = []
      for await (const page of this.store.listAll(this.keys.slotDir(slot))) {
        for (const key of page) {
          const parsed = this.keys.parse(key)
          if (parsed.kind === 'prepare' && ballotName(parsed.ballot) !== value) doomed.push(key)
        }
      }
      // Older slots: one page of 200 keys (the last ~50 slots) every sweep; the whole log every
      // FULL_SWEEP_EVERY-th slot and after an update, so garbage however far back (a crashed
      // writer's prepare, a failed sweep's leftovers) is reached at a bounded cost per slot.
      const full = slot % FULL_SWEEP_EVERY === 0 || tail.appended === 0
      const pageSize = full ? 1000 : 200
      for await (const page of this.store.listAll(this.keys.log, this.keys.belowSlot(slot), pageSize)) {
        for (const key of page) if (this.keys.parse(key).kind !== 'decided') doomed.push(key)
        if (!full) break
      }
      // A rewritten segment's old revision holds the text a redaction removed.
      for (const rewrite of tail.rewrites) doomed.push(this.keys.segment(rewrite.segment, rewrite.previous))
      await this.store.deleteMany(doomed)
    } catch (error) {
      // After an append this is garbage collection: what a failed sweep leaves, the next one
      // removes (it lists every older slot). After an update (a redaction) it removes the old
      // copies of the message, so the caller must hear that it failed: the old text may remain.
      if (!(error instanceof StorageError)) throw error
      if (tail.appended === 0) {
        throw new StorageError(
          'remove the old copies of an updated message from',
          this.store.where(this.keys.log),
          {
            cause: error,
          },
        )
      }
    }
  }

  async #proposalTail(slot: number, value: string): Promise<Tail> {
    const key = this.keys.proposal(slot, value)
    for (let attempt = 0; ; attempt++) {
      const stored = await this.store.get(key)
      if (stored === null) {
        throw new StorageError('read', `${this.store.where(key)} (accepted proposal is gone)`)
      }
      try {
        return decodeTail(stored.text, this.store.where(key))
      } catch (error) {
        // One re-read: s3rver rewrites in place when a repeated PUT arrives late (see the docs).
        if (!(error instanceof DamagedRecordError) || attempt > 0) throw error
        await sleep(50)
      }
    }
  }

  /** Our losing proposal at a decided slot holds a tail nobody will read: remove it now. */
  async #dropLoser(slot: number, view: LogView, writer: string): Promise<void> {
    const mine = (view.slots.get(slot) ?? []).filter(
      (key) => key.kind === 'prepare' && key.ballot.writer === writer,
    )
    try {
      await this.store.deleteMany(mine.map((key) => key.key))
    } catch (error) {
      // Garbage only: a later sweep lists and removes every non-decided key below its slot.
      if (!(error instanceof StorageError)) throw error
    }
  }

  #check(
    view: LogView,
    slot: number,
    base: Base,
    ballot: Ballot,
  ):
    | { kind: 'ok'; accepted: Extract<SlotKey, { kind: 'accept' }> | null }
    | { kind: 'decided' }
    | { kind: 'restart' }
    | { kind: 'outbid'; highest: number } {
    const top = view.top
    if (top !== null && top.slot >= slot) return { kind: 'decided' }
    // Our base must still be the newest decided slot: otherwise the log was deleted or rebuilt.
    if (base.slot !== (top?.slot ?? -1) || base.value !== (top?.value ?? null)) return { kind: 'restart' }
    for (const key of view.slots.keys()) if (key > slot) return { kind: 'restart' }
    let accepted: Extract<SlotKey, { kind: 'accept' }> | null = null
    let highest = 0
    let outbid = false
    for (const key of view.slots.get(slot) ?? []) {
      if (key.kind === 'decided') continue
      highest = Math.max(highest, key.ballot.round)
      if (key.ballot.writer !== ballot.writer && compareBallots(key.ballot, ballot) > 0) outbid = true
      if (key.kind === 'accept' && (accepted === null || compareBallots(key.ballot, accepted.ballot) > 0)) {
        accepted = key
      }
    }
    return outbid ? { kind: 'outbid', highest } : { kind: 'ok', accepted }
  }
}
