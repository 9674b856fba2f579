import { describe, expect, it } from 'vitest'
import { newId } from './ids.ts'

describe('newId', () => {
  it('makes prefixed ULIDs that are unique and sort in creation order', () => {
    const ids = Array.from({ length: 20_000 }, () => newId('dlv'))
    for (const id of ids.slice(0, 100)) expect(id).toMatch(/^dlv_[0-9A-HJKMNP-TV-Z]{26}$/)
    expect(new Set(ids).size).toBe(ids.length)
    expect([...ids].sort()).toEqual(ids)
  })

  it('uses the whole alphabet in the random part', () => {
    // A biased or stuck random source would leave characters out.
    const counts = new Map<string, number>()
    for (let i = 0; i < 2_000; i++) {
      const id = newId('evt')
      for (const char of id.slice(-16)) counts.set(char, (counts.get(char) ?? 0) + 1)
    }
    expect(counts.size).toBe(32)
  })
})
