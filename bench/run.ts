/**
 * `npm run bench`: runs every benchmark, prints its tables, and writes docs/benchmarks.md with the
 * machine and date. Timings live here, never in unit tests.
 */
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import type { BenchSection } from './bench-section.ts'
import { benchFileSessions } from './file-session-bench.ts'

function table(section: BenchSection): string {
  const header = `| ${section.columns.join(' | ')} |`
  const rule = `|${section.columns.map(() => '---').join('|')}|`
  const rows = section.rows.map((row) => `| ${row.join(' | ')} |`)
  const notes = (section.notes ?? []).map((note) => `- ${note}`)
  return [`## ${section.title}`, '', section.method, '', header, rule, ...rows, '', ...notes].join('\n')
}

const sections: BenchSection[] = []
for (const section of await benchFileSessions()) {
  console.log(`\n${table(section)}`)
  sections.push(section)
}
// Optional sections (their modules may be absent in a trimmed checkout), each exporting one function.
for (const [file, name] of [
  ['./s3-session-bench.ts', 'benchS3'],
  ['./sync-bench.ts', 'benchSync'],
] as const) {
  const url = new URL(file, import.meta.url)
  if (!existsSync(fileURLToPath(url))) continue
  const bench = ((await import(url.href)) as Record<string, () => Promise<BenchSection[]>>)[name]
  for (const section of (await bench?.()) ?? []) {
    console.log(`\n${table(section)}`)
    sections.push(section)
  }
}

const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${process.platform} ${process.arch}, Node ${process.version}`
const document = [
  '# Benchmarks',
  '',
  `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}; machine: ${machine}. Re-run it to refresh this page; the figures are whatever the last run measured.`,
  '',
  ...sections.map(table),
].join('\n')
await writeFile(new URL('../docs/benchmarks.md', import.meta.url), `${document.trimEnd()}\n`)
console.log('\nwrote docs/benchmarks.md')
