import { beforeEach } from 'vitest'
import { postgresAvailable } from './postgres.ts'

// The postgres project's tests skip, each visibly, when no PostgreSQL could start; global setup
// already said why, and under CI=true it failed the run instead.
beforeEach((context) => {
  if (!postgresAvailable()) context.skip()
})
