/** JSON columns: undefined and null both stored as NULL. */
export const toJson = (value: unknown): string | null => (value === undefined || value === null ? null : JSON.stringify(value));
export const fromJson = (text: string | null): unknown => (text === null ? null : JSON.parse(text));
