// The signed-in user's workspace files over /api/files (docs/files.md): the JSON routes go
// through api.ts; uploads go by XMLHttpRequest, the one browser API that reports how much of
// a request body has been sent, so a large file shows its progress.
import { ApiError, csrfToken, del, get, post } from "../api";

export type EntryKind = "file" | "folder" | "link" | "other";

export interface FileEntry {
  name: string;
  /** Relative to the workspace, which is the engine's working directory. */
  path: string;
  kind: EntryKind;
  size: number | null;
  /** Seconds since the epoch. */
  modified: number;
}

/** How full a workspace with a size limit is, in bytes (used counts the file system's own
 *  share too: a full workspace is at its size). */
export interface Space {
  used: number;
  size: number;
}

export interface Listing {
  path: string;
  entries: FileEntry[];
  /** Only for a workspace with a size limit. */
  space?: Space;
}

const query = (path: string) => `path=${encodeURIComponent(path)}`;

export const listFolder = (path: string): Promise<Listing> => get(`/api/files?${query(path)}`);
export const downloadUrl = (path: string): string => `/api/files/download?${query(path)}`;
export const renameEntry = (path: string, to: string): Promise<FileEntry> => post("/api/files/rename", { path, to });
export const makeFolder = (path: string): Promise<FileEntry> => post("/api/files/folder", { path });
export const deleteEntry = (path: string): Promise<null> => del(`/api/files?${query(path)}`);

/** The path of *name* in the folder *folder* ("" is the workspace's top). */
export const inFolder = (folder: string, name: string): string => (folder ? `${folder}/${name}` : name);

export interface Upload {
  done: Promise<FileEntry>;
  cancel(): void;
}

/** Send *file* to *path*; *progress* hears how many of its bytes have gone. A 409 (the
 *  path is taken) rejects with that ApiError unless *overwrite*; a 507 (the workspace is
 *  full) with the backend's message, which says its size limit. */
export function uploadFile(
  file: Blob,
  path: string,
  overwrite: boolean,
  progress: (sent: number, total: number) => void,
): Upload {
  const xhr = new XMLHttpRequest();
  const done = new Promise<FileEntry>((resolve, reject) => {
    xhr.open("PUT", `/api/files/upload?${query(path)}${overwrite ? "&overwrite=true" : ""}`);
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.addEventListener("progress", (event) => progress(event.loaded, event.lengthComputable ? event.total : file.size));
    xhr.addEventListener("load", () => {
      let answer: any = null;
      try {
        answer = JSON.parse(xhr.responseText);
      } catch {
        // not JSON: a proxy's page, say; the status says enough
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(answer as FileEntry);
      else
        reject(
          new ApiError(
            xhr.status,
            answer?.error ?? `http_${xhr.status}`,
            answer?.message ?? `The upload was refused (${xhr.status} ${xhr.statusText}).`,
          ),
        );
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network", "The upload failed: Codenode could not be reached.")));
    xhr.addEventListener("abort", () => reject(new ApiError(0, "cancelled", "The upload was cancelled.")));
    xhr.send(file);
  });
  return { done, cancel: () => xhr.abort() };
}
