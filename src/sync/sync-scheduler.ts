export interface AutoSyncOptions {
  /** Wait this long after a local write before pushing it, so a turn's messages go together. Default 250 ms. */
  debounceMs?: number
  /** A full sync (pull what other devices pushed) this often. Default 30,000 ms. */
  intervalMs?: number
  /** First retry delay after a failed sync; it doubles per failure. Default 1,000 ms. */
  initialBackoffMs?: number
  /** Longest retry delay while the remote stays unreachable. Default 300,000 ms. */
  maxBackoffMs?: number
}

/**
 * When background syncs run: shortly after local writes, every `intervalMs` for a full sync, and
 * after a failure with exponential backoff and jitter (local writes do not cut a backoff short, so
 * an offline device does not retry per message). Timers are unref'd: they never keep a process
 * alive. `stop` ends them; the caller waits for a sync in flight.
 */
export class SyncScheduler {
  readonly #options: Required<AutoSyncOptions>
  readonly #run: (full: boolean) => Promise<void>
  #timer: ReturnType<typeof setTimeout> | undefined
  #due = Number.POSITIVE_INFINITY
  #failures = 0
  #nextFull = 0
  #running = false
  #again = false
  #stopped = false

  constructor(options: AutoSyncOptions, run: (full: boolean) => Promise<void>) {
    this.#options = {
      debounceMs: options.debounceMs ?? 250,
      intervalMs: options.intervalMs ?? 30_000,
      initialBackoffMs: options.initialBackoffMs ?? 1_000,
      maxBackoffMs: options.maxBackoffMs ?? 300_000,
    }
    this.#run = run
    this.#at(0)
  }

  /** A local write happened: sync it soon, unless a failure's backoff is running. */
  poke(): void {
    if (this.#failures === 0) this.#at(this.#options.debounceMs)
  }

  stop(): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #at(delayMs: number): void {
    if (this.#stopped) return
    const due = Date.now() + delayMs
    if (this.#timer !== undefined && this.#due <= due) return
    clearTimeout(this.#timer)
    this.#due = due
    this.#timer = setTimeout(() => void this.#fire(), delayMs)
    // Background sync must never keep a process alive (browsers' timers have no unref).
    ;(this.#timer as { unref?: () => void }).unref?.()
  }

  async #fire(): Promise<void> {
    this.#timer = undefined
    this.#due = Number.POSITIVE_INFINITY
    if (this.#stopped) return
    if (this.#running) {
      // A write during a sync: run again once this one ends.
      this.#again = true
      return
    }
    this.#running = true
    this.#again = false
    const full = Date.now() >= this.#nextFull
    try {
      await this.#run(full)
      this.#failures = 0
      if (full) this.#nextFull = Date.now() + this.#options.intervalMs
      this.#at(Math.max(this.#nextFull - Date.now(), 0))
    } catch {
      // The failure is recorded by the run (syncStatus reports it); here it only sets the backoff.
      this.#failures++
      const ceiling = Math.min(
        this.#options.maxBackoffMs,
        this.#options.initialBackoffMs * 2 ** (this.#failures - 1),
      )
      this.#at(ceiling / 2 + Math.random() * (ceiling / 2))
    } finally {
      this.#running = false
      if (this.#again) this.poke()
    }
  }
}
