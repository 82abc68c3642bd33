// Why: libuv's threadpool (4 threads unless told otherwise) runs every statement of the embedded DuckDB
// engine (its Node bindings do their work there) as well as scrypt, zlib, DNS lookups and fs: four long
// queries would stall password checks and (de)compression for as long as they run. Sized here, in the
// first module server.ts loads, before anything has used the pool (libuv reads the variable then).
// One thread per engine connection (HOTPATH_MAX_CONCURRENT_EXECUTIONS, and the engine's two own), plus
// room for the rest. An operator's own UV_THREADPOOL_SIZE wins.

import { CONFIG_VARS, MAX_ENGINE_CONNECTIONS } from './config-schema.ts';

const fromEnv = Number(process.env.HOTPATH_MAX_CONCURRENT_EXECUTIONS);
const executions = Number.isSafeInteger(fromEnv) && fromEnv > 0 ? fromEnv : Number(CONFIG_VARS.find((v) => v.env === 'HOTPATH_MAX_CONCURRENT_EXECUTIONS')!.default);
// The engine's pool (create-engine.ts), plus its two own connections (pings, parses).
const engineThreads = Math.min(MAX_ENGINE_CONNECTIONS, executions) + 2;
process.env.UV_THREADPOOL_SIZE ||= String(engineThreads + 6);
