import { AsyncLocalStorage } from 'node:async_hooks'

/**
 * Keeps lone writes out of the extension's own transactions on SQLite.
 *
 * Prisma's better-sqlite3 adapter runs every query on one connection, and a query sent while an
 * interactive transaction is open runs inside it: it commits, or silently rolls back, with that
 * transaction. The extension opens one for each lone change of a model with events; without the
 * gate, another request's lone write arriving meanwhile would share its fate.
 *
 * So they never overlap: the extension's transactions (`own`) run one at a time (SQLite runs
 * one writing transaction at a time anyway; queueing them here rather than on the adapter's
 * lock spares them Prisma's `maxWait` of 2 s under load), lone writes (`lone`) run together, and
 * whichever asked first goes first. Work started from inside one of the extension's
 * transactions (an `owner` resolver or a serializer that writes through the global client)
 * passes straight through, so it cannot wait for the transaction it runs in.
 */
export interface LoneWriteGate {
  /** Runs one of the extension's transactions. */
  own<T>(work: () => Promise<T>): Promise<T>
  /** Runs a lone write (a query outside any transaction). */
  lone<T>(work: () => Promise<T>): Promise<T>
}

type Kind = 'own' | 'lone'

export function createLoneWriteGate(): LoneWriteGate {
  const inside = new AsyncLocalStorage<true>()
  const queue: { kind: Kind; enter: () => void }[] = []
  let holders = 0
  let holding: Kind | undefined

  const admits = (kind: Kind) => holders === 0 || (kind === 'lone' && holding === 'lone')

  function admitWaiting(): void {
    for (let next = queue[0]; next !== undefined && admits(next.kind); next = queue[0]) {
      queue.shift()
      holders++
      holding = next.kind
      next.enter()
    }
  }

  async function run<T>(kind: Kind, work: () => Promise<T>): Promise<T> {
    if (queue.length === 0 && admits(kind)) {
      holders++
      holding = kind
    } else {
      await new Promise<void>((enter) => queue.push({ kind, enter }))
    }
    try {
      return await work()
    } finally {
      holders--
      if (holders === 0) {
        holding = undefined
        admitWaiting()
      }
    }
  }

  return {
    own: (work) => (inside.getStore() ? work() : run('own', () => inside.run(true, work))),
    lone: (work) => (inside.getStore() ? work() : run('lone', work)),
  }
}

/** A gate that never waits: PostgreSQL's adapter gives each transaction its own connection. */
export const openGate: LoneWriteGate = { own: (work) => work(), lone: (work) => work() }
