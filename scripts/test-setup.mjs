// Loaded by `npm test` into every test process: property tests are deterministic (one fast-check seed for the
// whole suite) unless SYNACK_PROP_SEED=random asks a soak to explore new cases.
import fc from 'fast-check';

const env = process.env.SYNACK_PROP_SEED;
if (env !== 'random') fc.configureGlobal({ seed: Number(env ?? 20261130) });
