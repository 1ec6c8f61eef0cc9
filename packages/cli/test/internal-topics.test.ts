import { describe, expect, it } from 'vitest';
import { internalTopicsOf } from '../src/internal-topics.js';

describe('internalTopicsOf', () => {
  const topics = [
    'orders',
    'orders-count-changelog',
    'orders-by-customer-repartition',
    'orders-audit',
    'orders-v2-count-changelog',
    'shop-orders-count-changelog',
  ];

  it("picks the application's changelog and repartition topics", () => {
    expect(internalTopicsOf('orders', topics)).toEqual([
      'orders-by-customer-repartition',
      'orders-count-changelog',
      'orders-v2-count-changelog',
    ]);
  });

  it('leaves out those of a group whose id extends the application id', () => {
    expect(internalTopicsOf('orders', topics, ['orders', 'orders-v2', 'shop'])).toEqual([
      'orders-by-customer-repartition',
      'orders-count-changelog',
    ]);
  });
});
