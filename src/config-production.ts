// What a production process (DATABASE_URL set) refuses to start on although its configuration
// is valid: a daemon simulated only because nothing configured it, and, for an API process, the
// embedded relay on loopback that no wallet on another host can reach and a second process on
// the same host cannot share. Either is allowed when chosen explicitly (*_MODE=sim,
// NOSTR_EMBEDDED_RELAY=true). The embedded default (no DATABASE_URL) needs neither.
import { ConfigError, DAEMON_VARIABLES, type Config, type ConfigProblem } from './config.ts';

export interface ProcessShape {
  /** The process runs Nostr intake (the API role), so it needs relays wallets can reach. */
  readonly intake: boolean;
}

export function productionStartProblems(config: Config, shape: ProcessShape): ConfigProblem[] {
  if (config.database.kind !== 'mariadb') return [];
  const problems: ConfigProblem[] = [];
  for (const [daemon, names] of Object.entries(DAEMON_VARIABLES)) {
    const endpoint = config.daemons[daemon as keyof typeof DAEMON_VARIABLES];
    if (endpoint.mode !== 'sim' || !endpoint.simulatedByDefault) continue;
    problems.push({
      variable: names.mode,
      message: `${daemon} would be simulated in production (DATABASE_URL is set); set ${names.address} to the real ${daemon}, or ${names.mode}=sim to run the simulator on purpose`,
    });
  }
  if (shape.intake && config.nostr.relays.length === 0 && !config.nostr.embeddedRelayChosen) {
    problems.push({
      variable: 'NOSTR_RELAYS',
      message:
        'is required in production (DATABASE_URL is set): set it to the relays wallets use, the same list on every API process (or NOSTR_EMBEDDED_RELAY=true for one API process on one host)',
    });
  }
  return problems;
}

/** Throws ConfigError, one line per problem, when a production process must not start. */
export function refuseUnsafeProductionStart(config: Config, shape: ProcessShape): void {
  const problems = productionStartProblems(config, shape);
  if (problems.length > 0) throw new ConfigError(problems);
}
