/** One table of `npm run bench` output: printed to the terminal and written to docs/benchmarks.md. */
export interface BenchSection {
  title: string
  /** What was measured and how, in a sentence or two. */
  method: string
  columns: string[]
  rows: (string | number)[][]
  notes?: string[]
}
