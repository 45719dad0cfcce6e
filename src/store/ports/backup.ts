/** `hookline backup`: an online copy of a live store, for the backends that can make one. */
export interface BackupResult {
  file: string;
  bytes: number;
}

export interface BackupStore {
  /** Copies the live database to `file` (which must not exist) while others keep writing. */
  copyTo(file: string): Promise<BackupResult>;
}
