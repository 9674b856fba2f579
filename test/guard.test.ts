import { afterEach, describe, expect, it } from 'vitest'
import { bookstoreHooks } from './support/bookstore.ts'
import { type Receiver, startReceiver } from './support/receiver.ts'

let env: Awaited<ReturnType<typeof bookstoreHooks>> | undefined
let receiver: Receiver | undefined

afterEach(async () => {
  await env?.close()
  await receiver?.close()
  env = undefined
})

describe('the SSRF guard on deliveries', () => {
  it('refuses loopback targets at connect time, with the reason on the attempt', async () => {
    receiver = await startReceiver()
    env = await bookstoreHooks({ allowTargets: [], retry: { schedule: [] } })
    const { hooks } = env
    // A host name is checked when it is resolved, at each connect: localhost resolves to loopback.
    const sub = await hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: `http://localhost:${receiver.port}/`,
    })
    await hooks.modelEvent('Book', 'created', { id: 1, ownerId: 'u1' })
    expect(await hooks.deliverPending()).toMatchObject({ exhausted: 1 })
    expect(receiver.requests).toHaveLength(0)
    const [delivery] = (await hooks.listDeliveries({ subscriptionId: sub.id }))?.data ?? []
    const attempts = (await hooks.getDelivery(delivery?.id ?? ''))?.attempts
    expect(attempts?.[0]?.error).toMatch(/refused: loopback address/)
  })

  it.each([
    'http://127.0.0.1/',
    'http://10.0.0.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://2130706433/',
    'http://0x7f.1/',
  ])('refuses %s when subscribing', async (target) => {
    env = await bookstoreHooks({ allowTargets: [] })
    await expect(
      env.hooks.subscribe({ owner: 'u1', event: 'book.added', target }),
    ).rejects.toMatchObject({ errors: [{ field: 'target' }] })
    expect((await env.hooks.listSubscriptions({ owner: 'u1' })).data).toHaveLength(0)
  })

  it('admits what allowTargets lists', async () => {
    receiver = await startReceiver()
    env = await bookstoreHooks({ allowTargets: ['127.0.0.0/8', '::1/128'] })
    await env.hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: `http://localhost:${receiver.port}/`,
    })
    await env.hooks.modelEvent('Book', 'created', { id: 1, ownerId: 'u1' })
    expect(await env.hooks.deliverPending()).toMatchObject({ succeeded: 1 })
    expect(receiver.requests).toHaveLength(1)
  })
})
