/** Splits a string into pieces of at most `size` characters, as a model streams tokens. */
export function pieces(text: string, size = 4): string[] {
  const result: string[] = []
  for (let i = 0; i < text.length; i += size) result.push(text.slice(i, i + size))
  return result
}
