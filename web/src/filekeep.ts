// The bytes of unfinished uploads kept by the browser (IndexedDB stores
// File objects), so that a reload resumes an upload without the file being
// picked again: uploader.ts keeps a file when its tus upload exists and
// drops it when the upload ends, is removed, expires, or the user signs
// out (a shared computer keeps nothing of a user's files after that).
// Entries are keyed "<user id>/<upload id>". Every call fails soft: without
// IndexedDB (private windows, blocked storage, a full quota) nothing is
// kept and the tray asks for the file again, as before.
const DB = 'cordon-uploads';
const STORE = 'files';

let opening: Promise<IDBDatabase | null> | null = null;

function db(): Promise<IDBDatabase | null> {
  if (opening) return opening;
  opening = new Promise((resolve) => {
    try {
      const idb = globalThis.indexedDB;
      if (!idb) return resolve(null);
      const req = idb.open(DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => resolve(null);
      req.onblocked = () => resolve(null);
    } catch {
      resolve(null);
    }
  });
  return opening;
}

function run<T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T> | null): Promise<T | null> {
  return db().then((d) => new Promise<T | null>((resolve) => {
    if (!d) return resolve(null);
    try {
      const tx = d.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req ? req.result : null);
      tx.onerror = () => resolve(null);
      tx.onabort = () => resolve(null);
    } catch {
      resolve(null);
    }
  }));
}

const key = (user: number, upload: string) => `${user}/${upload}`;

/** Keeps the file of an upload until dropped. */
export function keepFile(user: number, upload: string, file: File): Promise<unknown> {
  return run('readwrite', (s) => s.put(file, key(user, upload)));
}

/** The file kept for an upload, or null. */
export async function keptFile(user: number, upload: string): Promise<File | null> {
  const v = await run<unknown>('readonly', (s) => s.get(key(user, upload)));
  return v instanceof Blob ? (v as File) : null;
}

export function dropFile(user: number, upload: string): Promise<unknown> {
  return run('readwrite', (s) => s.delete(key(user, upload)));
}

/** Every file kept for the user (sign-out). */
export function dropAllFiles(user: number): Promise<unknown> {
  return run('readwrite', (s) => s.delete(IDBKeyRange.bound(`${user}/`, `${user}/\uffff`)));
}
