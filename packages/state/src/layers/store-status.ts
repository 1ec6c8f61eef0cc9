// The lifecycle flag a typed store checks before each call; set by its task state manager.
import { StateStoreError } from '../errors.js';

export class StoreStatus {
  value: 'created' | 'open' | 'closed' = 'created';

  constructor(readonly store: string) {}

  assertOpen(): void {
    if (this.value !== 'open') {
      const code = this.value === 'closed' ? 'STORE_CLOSED' : 'STORE_NOT_OPEN';
      throw new StateStoreError(code, `store "${this.store}" is ${this.value}`, { store: this.store });
    }
  }
}
