// Why: the one error a bad setting raises (server.ts exits 2 with its message). Its own module, so the
// parsers config.ts calls (tenants.ts) can throw it without importing config.ts back.
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
