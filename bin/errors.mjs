// errors.mjs: the CLI's error class for a mistake in the command line or its input
// (exit code 2), in a module of its own so that lib.mjs and graphs.mjs can both use it.
export class UsageError extends Error {}
