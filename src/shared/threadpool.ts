// Why: libuv's threadpool (4 threads unless told otherwise) runs every statement of the embedded DuckDB
// engine (its Node bindings do their work there) as well as scrypt, zlib, DNS lookups and fs: four long
// queries would stall password checks and (de)compression for as long as they run. Sized here, in the
// first module server.ts loads, before anything has used the pool (libuv reads the variable then).
// One thread per engine connection (HOTPATH_MAX_CONCURRENT_EXECUTIONS, and the engine's two own), plus
// room for the rest. An operator's own UV_THREADPOOL_SIZE wins.

const executions = Number(process.env.HOTPATH_MAX_CONCURRENT_EXECUTIONS);
// The engine opens at most 64 connections (engines/create-engine.ts), plus its two own.
const engineThreads = Math.min(64, Number.isSafeInteger(executions) && executions > 0 ? executions : 16) + 2;
process.env.UV_THREADPOOL_SIZE ||= String(engineThreads + 6);
