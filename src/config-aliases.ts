// The daemon variables of the original operator guide, and what ArkRelay makes of them: its
// host + port pairs become the addresses ArkRelay reads (ARKD_URL, TAPD_HOST, LND_HOST), the two
// arkd credentials the REST client cannot use are refused with the reason, and any other
// ARKD_* / TAPD_* / LND_* name is refused: an ignored daemon variable would leave the daemon it
// meant simulated without anyone noticing. docs/configuration.md shows the mapping (generated).

type Env = Readonly<Record<string, string | undefined>>;

export interface AliasProblem {
  readonly variable: string;
  readonly message: string;
}

/** A host and a port that together give one address variable. */
export interface HostPortAlias {
  readonly daemon: 'arkd' | 'tapd' | 'lnd';
  readonly host: string;
  readonly port: string;
  /** The variable ArkRelay reads; for tapd and lnd the host variable itself. */
  readonly target: string;
  /** Prefix of the address written into `target` (arkd's is a URL). */
  readonly scheme: '' | 'http://';
  /** Which of the daemon's ports the port variable must name. */
  readonly portMeaning: string;
}

export const HOST_PORT_ALIASES: readonly HostPortAlias[] = [
  {
    daemon: 'arkd',
    host: 'ARKD_HOST',
    port: 'ARKD_PORT',
    target: 'ARKD_URL',
    scheme: 'http://',
    portMeaning: "arkd's REST port, 7070 by default, not its gRPC port",
  },
  {
    daemon: 'tapd',
    host: 'TAPD_HOST',
    port: 'TAPD_PORT',
    target: 'TAPD_HOST',
    scheme: '',
    portMeaning: "tapd's REST port, 8089 by default, not its gRPC port 10029",
  },
  {
    daemon: 'lnd',
    host: 'LND_HOST',
    port: 'LND_PORT',
    target: 'LND_HOST',
    scheme: '',
    portMeaning: "lnd's gRPC port, 10009 by default",
  },
];

/** Guide variables ArkRelay cannot honour, refused with what to do instead. */
export const REFUSED_VARIABLES: ReadonlyMap<string, string> = new Map([
  [
    'ARKD_TLS_CERT',
    "cannot be used: the arkd client speaks REST through Node's fetch, which trusts the system's certificate authorities and cannot pin one certificate; serve arkd's REST over https with a certificate the system trusts (or add its CA with NODE_EXTRA_CA_CERTS), set ARKD_URL=https://…, and unset ARKD_TLS_CERT",
  ],
  [
    'ARKD_MACAROON',
    "cannot be used: arkd's public REST API, the one the gateway calls, takes no macaroon; unset ARKD_MACAROON",
  ],
]);

/** Every daemon variable the original guide names (for the mapping table and its test). */
export const GUIDE_DAEMON_VARIABLES = ['ARKD', 'TAPD', 'LND'].flatMap((prefix) =>
  ['HOST', 'PORT', 'TLS_CERT', 'MACAROON'].map((suffix) => `${prefix}_${suffix}`),
);

const DAEMON_PREFIX = /^(ARKD|TAPD|LND)_/;

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** A host with an optional port: `name`, `1.2.3.4`, `::1`, `[::1]`, each optionally `:port`. */
function splitHostPort(value: string): { host: string; port?: string } | undefined {
  const bracketed = /^(\[[0-9a-fA-F:.]+\])(?::(\d+))?$/.exec(value);
  if (bracketed) return { host: bracketed[1]!, ...(bracketed[2] ? { port: bracketed[2] } : {}) };
  if (/^[0-9a-fA-F:.]+$/.test(value) && value.split(':').length > 2) return { host: `[${value}]` };
  const plain = /^([A-Za-z0-9.-]+)(?::(\d+))?$/.exec(value);
  if (plain) return { host: plain[1]!, ...(plain[2] ? { port: plain[2] } : {}) };
  return undefined;
}

function validPort(value: string): string | undefined {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : 0;
  return port >= 1 && port <= 65535 ? String(port) : undefined;
}

function sameUrl(a: string, b: string): boolean {
  try {
    return new URL(a).toString().replace(/\/$/, '') === new URL(b).toString().replace(/\/$/, '');
  } catch {
    return true; // a malformed target is reported by its own validation
  }
}

export interface AliasResolution {
  /** The environment with each alias written into its target. */
  readonly env: Env;
  readonly problems: readonly AliasProblem[];
  /** Target variable → the alias variables it came from, for messages about the target. */
  readonly origins: ReadonlyMap<string, string>;
}

type Joined = { address: string; from: string } | { problem: AliasProblem } | undefined;

/** One host + port pair: the address it gives, a problem, or nothing to do. */
function joinHostPort(env: Env, alias: HostPortAlias): Joined {
  const problem = (variable: string, message: string) => ({ problem: { variable, message } });
  const host = text(env, alias.host);
  const port = text(env, alias.port);
  if (host === undefined) {
    return port === undefined
      ? undefined
      : problem(alias.port, `is set but ${alias.host} is not; set ${alias.host} too`);
  }
  // A plain TAPD_HOST / LND_HOST is ArkRelay's own variable, validated where it is read.
  if (port === undefined && alias.host === alias.target) return undefined;
  const parts = splitHostPort(host);
  if (!parts) {
    return problem(alias.host, `must be a host name or IP address, optionally with :port (got "${host}")`);
  }
  let chosen = parts.port === undefined ? undefined : validPort(parts.port);
  if (parts.port !== undefined && chosen === undefined) {
    return problem(alias.host, `names a port outside 1-65535 (got "${host}")`);
  }
  if (port !== undefined) {
    const given = validPort(port);
    if (given === undefined)
      return problem(alias.port, `must be a port number from 1 to 65535 (got "${port}")`);
    if (chosen !== undefined && chosen !== given) {
      return problem(alias.port, `is ${given} but ${alias.host} names port ${chosen}; give the port once`);
    }
    chosen = given;
  }
  if (chosen === undefined) {
    return problem(alias.host, `needs a port: set ${alias.port} (${alias.portMeaning}) or write host:port`);
  }
  const address = `${alias.scheme}${parts.host}:${chosen}`;
  const from = port === undefined ? alias.host : `${alias.host} and ${alias.port}`;
  const target = alias.target === alias.host ? undefined : text(env, alias.target);
  if (target !== undefined && !sameUrl(target, address)) {
    return problem(
      alias.host,
      `${from} give ${address} but ${alias.target} is ${target}; set only one of them`,
    );
  }
  return { address, from };
}

/** Writes the guide's host + port pairs into the variables ArkRelay reads. */
export function resolveDaemonAliases(env: Env): AliasResolution {
  const out: Record<string, string | undefined> = { ...env };
  const problems: AliasProblem[] = [];
  const origins = new Map<string, string>();
  for (const alias of HOST_PORT_ALIASES) {
    const joined = joinHostPort(env, alias);
    if (joined === undefined) continue;
    if ('problem' in joined) {
      problems.push(joined.problem);
      // A host left half-configured would only be reported again as a malformed address.
      if (alias.target === alias.host) out[alias.target] = undefined;
      continue;
    }
    out[alias.target] = joined.address;
    origins.set(alias.target, joined.from);
  }
  return { env: out, problems, origins };
}

/**
 * Every set ARKD_* / TAPD_* / LND_* variable that is neither one of `known` nor an alias: the
 * refused guide variables with their reason, anything else as unknown.
 */
export function unknownDaemonVariables(env: Env, known: ReadonlySet<string>): AliasProblem[] {
  const accepted = new Set([...known, ...HOST_PORT_ALIASES.flatMap((a) => [a.host, a.port])]);
  const problems: AliasProblem[] = [];
  for (const name of Object.keys(env).sort()) {
    const prefix = DAEMON_PREFIX.exec(name)?.[0];
    if (!prefix || accepted.has(name) || text(env, name) === undefined) continue;
    const refused = REFUSED_VARIABLES.get(name);
    if (refused) {
      problems.push({ variable: name, message: refused });
      continue;
    }
    const same = [...accepted].filter((n) => n.startsWith(prefix));
    problems.push({
      variable: name,
      message: `is not a variable ArkRelay reads (it reads ${same.join(', ')}); fix its name or remove it`,
    });
  }
  return problems;
}
