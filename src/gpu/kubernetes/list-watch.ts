// Why: the backend's view of nodes and pods is client-node's ListWatch (list, then watch from the list's
// resourceVersion; a 410 Gone re-lists), which stops for good on any other error: an API server that
// is down or restarting would leave hotpath blind. This keeps one running: it restarts after errors
// with a capped backoff, says when the first list has arrived (nothing is placed before that), and
// reports errors and reconnects to whoever watches.
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';

export interface WatchedSetOptions {
  fieldSelector?: string;
  labelSelector?: string;
  /** First retry after an error (doubles up to maxRetryMs). Default 500 ms. */
  retryMs?: number;
  maxRetryMs?: number;
  onError?: (err: unknown) => void;
}

export interface WatchedSet<T extends KubernetesObject> {
  list(): readonly T[];
  get(name: string, namespace?: string): T | undefined;
  /** Resolves once the first list has been read (the set is then complete). */
  synced(): Promise<void>;
  on(event: 'add' | 'update' | 'delete', fn: (obj: T) => void): void;
  stop(): Promise<void>;
}

export function watchResource<T extends KubernetesObject>(kc: KubeConfig, path: string, listFn: () => Promise<KubernetesListObject<T>>, opts: WatchedSetOptions = {}): WatchedSet<T> {
  let markSynced: () => void = () => {};
  const synced = new Promise<void>((resolve) => (markSynced = resolve));
  const retryMs = opts.retryMs ?? 500;
  const maxRetryMs = opts.maxRetryMs ?? 10_000;
  let delayMs = retryMs;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const lw = new ListWatch<T>(
    path,
    new Watch(kc),
    async () => {
      const list = await listFn();
      delayMs = retryMs; // the server answers again
      markSynced();
      return list;
    },
    false,
    opts.labelSelector,
    opts.fieldSelector,
  );
  lw.on('error', (err) => {
    opts.onError?.(err);
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (!stopped) void lw.start();
    }, delayMs);
    timer.unref();
    delayMs = Math.min(maxRetryMs, delayMs * 2);
  });
  void lw.start();
  return {
    list: () => lw.list(),
    get: (name, namespace) => lw.get(name, namespace),
    synced: () => synced,
    on: (event, fn) => lw.on(event, fn),
    stop: async () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await lw.stop();
    },
  };
}
