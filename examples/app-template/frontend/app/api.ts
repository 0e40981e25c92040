// The API is served by the `app` service under /api on this same host
// (x-towlion routes in docker-compose.yml), in production and in previews
// alike, so relative URLs are all the browser needs.
export const API = "/api";

export type Item = {
  id: number;
  name: string;
  description: string;
  created_at: string;
};

async function json<T>(res: Response): Promise<T> {
  if (!res.ok) {
    let detail = `${res.status} ${res.statusText}`;
    try {
      const body = await res.json();
      if (body && body.detail) detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    } catch {
      // not JSON: keep the status line
    }
    throw new Error(detail);
  }
  return (await res.json()) as T;
}

export async function listItems(): Promise<Item[]> {
  return json<Item[]>(await fetch(`${API}/items`, { cache: "no-store" }));
}

export async function createItem(name: string, description: string): Promise<Item> {
  return json<Item>(
    await fetch(`${API}/items`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name, description }),
    }),
  );
}
