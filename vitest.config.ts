import { defineConfig } from 'vitest/config'

/**
 * Two projects. `sqlite` runs every test. `postgres` runs the store conformance suite (the
 * engine and API tests, through test/support/store-kind.ts) again on PostgreSQL, plus the
 * PostgreSQL-only tests under test/postgres/, and the ORM integrations' tests under
 * test/integrations/. Global setup starts a throwaway PostgreSQL.
 */
const conformance = [
  'test/dispatch.test.ts',
  'test/subscription-cache.test.ts',
  'test/delivery.test.ts',
  'test/subscriptions.test.ts',
  'test/feed-and-retention.test.ts',
  'test/api.test.ts',
  'test/api-authorization.test.ts',
  'test/cli.test.ts',
  'test/payloads.test.ts',
  'test/admin/admin-auth.test.ts',
  'test/admin/admin-subscriptions.test.ts',
  'test/admin/admin-deliveries.test.ts',
  'test/hostile/fuzz-api.test.ts',
  'test/hostile/ssrf.test.ts',
  'test/hostile/authorization-matrix.test.ts',
  'test/hostile/secrets.test.ts',
  'test/reliability/crash-kills.test.ts',
  'test/reliability/receiver-outage.test.ts',
  'test/reliability/slow-targets.test.ts',
  'test/reliability/target-limits.test.ts',
  'test/reliability/rollback-matrix.test.ts',
]

const shared = { testTimeout: 30_000, hookTimeout: 30_000 }

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    projects: [
      {
        test: {
          ...shared,
          name: 'sqlite',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['test/postgres/**'],
        },
      },
      {
        test: {
          ...shared,
          name: 'postgres',
          include: [...conformance, 'test/integrations/**/*.test.ts', 'test/postgres/**/*.test.ts'],
          env: { RESTHOOKS_TEST_STORE: 'postgres' },
          setupFiles: ['test/support/postgres-project.ts'],
        },
      },
    ],
  },
})
