// The REST API under /api: JSON in and out, the CSRF header on every state-changing request,
// errors turned into ApiError with the server's message.

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface User {
  id: number;
  username: string;
  is_admin: boolean;
}

export interface Session {
  user: User | null;
  csrf: string;
  signup: "open" | "closed" | "admin";
}

function cookie(name: string): string {
  const found = document.cookie.split("; ").find((part) => part.startsWith(name + "="));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
}

let csrf = "";

/** Who is signed in; also fetches the CSRF cookie that state-changing requests echo. */
export async function session(): Promise<Session> {
  const answer = (await request("GET", "/api/session")) as Session;
  csrf = answer.csrf;
  return answer;
}

/** The CSRF token that state-changing requests echo (for requests not made by request()). */
export function csrfToken(): string {
  return cookie("codenode_csrf") || csrf;
}

export async function request(method: string, path: string, body?: unknown): Promise<any> {
  const headers: Record<string, string> = {};
  let payload: BodyInit | undefined;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  if (method !== "GET" && method !== "HEAD") {
    headers["X-CSRF-Token"] = csrfToken();
  }
  const response = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const code = typeof data === "object" && data ? data.error : `http_${response.status}`;
    const message = typeof data === "object" && data ? data.message : String(data);
    throw new ApiError(response.status, code, message);
  }
  return data;
}

export const get = (path: string) => request("GET", path);
export const post = (path: string, body?: unknown) => request("POST", path, body ?? {});
export const put = (path: string, body?: unknown) => request("PUT", path, body ?? {});
export const patch = (path: string, body?: unknown) => request("PATCH", path, body ?? {});
export const del = (path: string) => request("DELETE", path);
