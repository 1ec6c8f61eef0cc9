// What a table forwards downstream: the new and the previous value of a key (null: absent).

export interface Change<V> {
  newValue: V | null;
  oldValue: V | null;
}
