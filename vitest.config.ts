import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // With HOOKLINE_TEST_PG_URL: a fresh PostgreSQL database for the run (else those tests skip).
    globalSetup: ['test/helpers/pg-global-setup.ts'],
    // Real sockets, real files and child processes: give slow CI machines room.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
