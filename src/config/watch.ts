import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ConfigError, formatDiagnostic } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Config } from './schema.ts';

export interface ConfigWatchOptions {
  /** Reads and validates the config again (throws ConfigError with file:line:col diagnostics). */
  load: () => Config;
  /** Applies a valid config; `trigger` says why (SIGHUP, the file changing). */
  apply: (config: Config, trigger: string) => void;
  /** The operator's file to watch for changes; undefined: on SIGHUP only. */
  file?: string | undefined;
  logger: Logger;
}

/**
 * Reloads the config on SIGHUP and, when given a file, whenever it changes. A config that does not
 * validate is refused, every problem logged as file:line:col, and the running one stays in force.
 */
export function watchConfig(options: ConfigWatchOptions): { reload(trigger: string): void; close(): void } {
  const { logger } = options;
  const reload = (trigger: string) => {
    let config: Config;
    try {
      config = options.load();
    } catch (error) {
      const problems = error instanceof ConfigError ? error.diagnostics.map(formatDiagnostic) : [(error as Error).message];
      for (const problem of problems) logger.error({ trigger }, `config reload refused, the running config stays in force: ${problem}`);
      return;
    }
    options.apply(config, trigger);
  };

  const onSignal = () => reload('SIGHUP');
  process.on('SIGHUP', onSignal);

  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  const file = options.file;
  if (file) {
    const name = basename(file);
    try {
      // The folder, not the file: editors and `kubectl` replace the file (a rename, a symlink swap),
      // which a watch on the old file would not see. Other files in the folder (the SQLite store) are ignored.
      watcher = watch(dirname(file), (_event, changed) => {
        if (changed !== null && changed !== name && !changed.startsWith('..')) return;
        // Editors write in several steps: settle first.
        clearTimeout(timer);
        timer = setTimeout(() => reload(`${file} changed`), 150);
      });
      watcher.unref();
    } catch (error) {
      logger.warn({ file, error: (error as Error).message }, 'cannot watch the config file; reload it with SIGHUP');
    }
  }

  return {
    reload,
    close: () => {
      process.off('SIGHUP', onSignal);
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
