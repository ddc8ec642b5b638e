// Chooses, per daemon, the simulator or the real client, as configured (ARKD_MODE, TAPD_MODE,
// LND_MODE), and hands the rest of the gateway the three interfaces. The simulators share one
// world under DATA_DIR/sim; the real clients are built by src/backends/real-clients.ts. A
// daemon configured as real is never replaced by the simulator, whatever happens to it.
import { DAEMON_VARIABLES, type Config } from '../config.ts';
import type { Logger } from '../logging.ts';
import type { ArkBackend } from './ark/ark-backend.ts';
import { ArkSimulator } from './ark/simulator.ts';
import type { LightningBackend } from './lnd/lightning-backend.ts';
import { LightningControls, LightningSimulator } from './lnd/simulator.ts';
import { createRealArk, createRealLnd, createRealTapd, type RealClientFactory } from './real-clients.ts';
import type { SimControls } from './sim/controls.ts';
import { SimWorld } from './sim/world.ts';
import type { AssetsBackend } from './tapd/assets-backend.ts';
import { AssetsSimulator } from './tapd/simulator.ts';
import type { BackendLifecycle, BackendMode, BackendName, DaemonCallObserver } from './types.ts';

export interface Backends {
  readonly ark: ArkBackend;
  readonly assets: AssetsBackend;
  readonly lightning: LightningBackend;
  readonly modes: Readonly<Record<BackendName, BackendMode>>;
  /** The simulator's controls; undefined when no daemon is simulated. */
  readonly sim: SimControls | undefined;
  /** The three, in the order arkd, tapd, lnd. */
  all(): readonly BackendLifecycle[];
  get(name: BackendName): BackendLifecycle;
  /**
   * Replaces the observer every daemon call is reported to (simulated or real), for a
   * composition root that builds its metrics after the backends.
   */
  observeCalls(observer: DaemonCallObserver | undefined): void;
  close(): Promise<void>;
}

export interface BackendDeps {
  readonly logger: Logger;
  /**
   * Told about every daemon call once it ends: daemon, operation, outcome (`ok` or the error
   * kind), seconds — e.g. `metrics.observeDaemonCall` (the daemon_call_seconds histogram).
   */
  readonly observeCall?: DaemonCallObserver;
  /** Clock of the simulated world (tests); the real clients keep their own. */
  readonly now?: () => number;
  /** Replacements of the real client factories (tests point them at wire fakes). */
  readonly real?: {
    readonly ark?: RealClientFactory<ArkBackend>;
    readonly tapd?: RealClientFactory<AssetsBackend>;
    readonly lnd?: RealClientFactory<LightningBackend>;
  };
}

export type BackendsConfig = Pick<Config, 'dataDir' | 'daemons'>;

export async function createBackends(config: BackendsConfig, deps: BackendDeps): Promise<Backends> {
  const { arkd, tapd, lnd } = config.daemons;
  const modes = { arkd: arkd.mode, tapd: tapd.mode, lnd: lnd.mode } as const;
  const anySim = Object.values(modes).includes('sim');
  warnSimulated(config.daemons, deps.logger);
  const world = anySim
    ? new SimWorld({
        dataDir: config.dataDir,
        ...(config.daemons.simSeed ? { seed: config.daemons.simSeed.reveal() } : {}),
        ...(deps.now ? { now: deps.now } : {}),
      })
    : undefined;
  const made: BackendLifecycle[] = [];
  // One indirection, so that observeCalls() can set the observer after the clients exist.
  let observer = deps.observeCall;
  const observeCall: DaemonCallObserver = (...call) => observer?.(...call);
  const realDeps = { logger: deps.logger, observeCall };
  try {
    const simLightning = world ? new LightningSimulator(world) : undefined;
    simLightning?.observeCalls(observeCall);
    const lightning: LightningBackend =
      modes.lnd === 'sim' ? simLightning! : await (deps.real?.lnd ?? createRealLnd)(lnd, realDeps);
    made.push(lightning);
    // Asset invoices live on the Lightning node: a simulated tapd uses the simulated node.
    const assets: AssetsBackend =
      modes.tapd === 'sim'
        ? observed(new AssetsSimulator(world!, simLightning!), observeCall)
        : await (deps.real?.tapd ?? createRealTapd)(tapd, realDeps);
    made.push(assets);
    const ark: ArkBackend =
      modes.arkd === 'sim'
        ? observed(new ArkSimulator(world!), observeCall)
        : await (deps.real?.ark ?? createRealArk)(arkd, realDeps);
    made.push(ark);

    const sim: SimControls | undefined = world
      ? {
          lightning: modes.lnd === 'sim' ? new LightningControls(world) : undefined,
          mineBlocks: async (count: number) => {
            if (!Number.isInteger(count) || count < 1 || count > 10_000)
              throw new RangeError('mine 1 to 10000 blocks');
            return world.mine(count, []);
          },
          setFeeRate: (satPerVbyte: bigint) => {
            if (satPerVbyte < 1n) throw new RangeError('fee rate must be at least 1 sat/vB');
            world.setMeta('fee_rate', satPerVbyte.toString());
          },
        }
      : undefined;
    const byName = { arkd: ark, tapd: assets, lnd: lightning } as const;
    let closed = false;
    return {
      ark,
      assets,
      lightning,
      modes,
      sim,
      all: () => [ark, assets, lightning],
      get: (name) => byName[name],
      observeCalls: (next) => {
        observer = next;
      },
      close: async () => {
        if (closed) return;
        closed = true;
        await Promise.allSettled([ark.close(), assets.close(), lightning.close()]);
        world?.close();
      },
    };
  } catch (error) {
    await Promise.allSettled(made.map((b) => b.close()));
    world?.close();
    throw error;
  }
}

// A simulator answers like a daemon but moves no real funds: whoever reads the log must see it.
function warnSimulated(daemons: Config['daemons'], logger: Logger): void {
  for (const [daemon, names] of Object.entries(DAEMON_VARIABLES)) {
    const endpoint = daemons[daemon as keyof typeof DAEMON_VARIABLES];
    if (endpoint.mode !== 'sim') continue;
    logger.warn(
      {
        daemon,
        mode: 'sim',
        because: endpoint.simulatedByDefault ? `${names.address} is unset` : `${names.mode}=sim`,
      },
      `simulated daemon: ${daemon} is the in-process simulator, no real ${daemon} (set ${names.address} for the real one)`,
    );
  }
}

function observed<T extends { observeCalls(observer: DaemonCallObserver): void }>(
  simulator: T,
  observer: DaemonCallObserver,
): T {
  simulator.observeCalls(observer);
  return simulator;
}

export type { SimControls } from './sim/controls.ts';
