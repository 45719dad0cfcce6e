/** A request the operator must change (an address that is none, an unknown export kind): 400 / exit 2. */
export class InputError extends Error {
  override name = 'InputError';
}
