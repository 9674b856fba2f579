/** `line L, column C` (both from 1) of the UTF-16 offset `index` in `text`, for messages. */
export function lineAndColumn(text: string, index: number): string {
  const before = text.slice(0, index)
  const line = before.split('\n').length
  const column = index - before.lastIndexOf('\n')
  return `line ${line}, column ${column}`
}
