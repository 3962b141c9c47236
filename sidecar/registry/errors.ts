/** Thrown for a request the registry refuses (unknown source or server, missing inputs): the message says what to do. */
export class RegistryError extends Error {
  override name = 'RegistryError';
  constructor(
    message: string,
    readonly kind: 'not-found' | 'usage' | 'refused',
  ) {
    super(message);
  }
}
