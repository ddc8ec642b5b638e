// A gateway on MariaDB is a production process: it refuses to start on a daemon simulated only
// by default and, as an API process, on the embedded relay, unless told so explicitly
// (src/config-production.ts). Suites that run the production stack on the simulators say so here.

/** Every daemon simulated on purpose. */
export const SIMULATED_DAEMONS: Readonly<Record<string, string>> = {
  ARKD_MODE: 'sim',
  TAPD_MODE: 'sim',
  LND_MODE: 'sim',
};

const ADDRESS_OF: Readonly<Record<string, string>> = {
  ARKD_MODE: 'ARKD_URL',
  TAPD_MODE: 'TAPD_HOST',
  LND_MODE: 'LND_HOST',
};

/**
 * `env`, and when it names a MariaDB database: `*_MODE=sim` for each daemon it leaves
 * unconfigured, and NOSTR_EMBEDDED_RELAY=true when it sets no relays.
 */
export function simulatedProduction(env: Record<string, string>): Record<string, string> {
  if (!env.DATABASE_URL) return env;
  const modes = Object.entries(SIMULATED_DAEMONS).filter(
    ([mode]) => env[mode] === undefined && env[ADDRESS_OF[mode]!] === undefined,
  );
  return {
    ...Object.fromEntries(modes),
    ...(env.NOSTR_RELAYS ? {} : { NOSTR_EMBEDDED_RELAY: 'true' }),
    ...env,
  };
}
