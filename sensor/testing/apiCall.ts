import type { ApiCall } from '../protocols/contract.ts';

/** A plain successful HTTP GET as the tracker would hand it on; tests override what they are about. */
export function apiCall(over: Partial<ApiCall> = {}): ApiCall {
  return {
    protocol: 'http',
    role: 'server',
    method: 'GET',
    resource: '/orders/1',
    status: '200',
    error: false,
    startNs: 1n,
    endNs: 2n,
    reqBytes: 1,
    respBytes: 1,
    ...over,
  };
}
