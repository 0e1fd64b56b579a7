/** A Temporal client whose every call to the server is named in `calls`, to show what a client API sends. */
import * as grpc from '@grpc/grpc-js';
import { Client, Connection } from '@temporalio/client';

export interface CountingClient {
  client: Client;
  /** The method of each call since the client connected (`ExecuteMultiOperation`, `QueryWorkflow`, ...). */
  calls: string[];
  close(): Promise<void>;
}

/** `after`: interceptors each call passes through once it is counted (a fake's, to shape what the server sees). */
export async function countingClient(address: string, after: grpc.Interceptor[] = []): Promise<CountingClient> {
  const calls: string[] = [];
  const counting: grpc.Interceptor = (options, nextCall) => {
    const method = options.method_definition.path;
    calls.push(method.slice(method.lastIndexOf('/') + 1));
    return new grpc.InterceptingCall(nextCall(options));
  };
  const connection = await Connection.connect({ address, interceptors: [counting, ...after] });
  calls.splice(0);
  return { client: new Client({ connection }), calls, close: () => connection.close() };
}
