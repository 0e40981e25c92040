"use client";

// The items, fetched from the API after the page loads, and a form that
// adds one. A client component: the page itself is static, so the
// frontend's health does not depend on the API.
import { FormEvent, useEffect, useState } from "react";
import { Item, createItem, listItems } from "./api";

export default function Home() {
  const [items, setItems] = useState<Item[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);

  async function refresh() {
    try {
      setItems(await listItems());
      setError(null);
    } catch (e) {
      setError(`Could not load the items: ${(e as Error).message}`);
    }
  }

  useEffect(() => {
    refresh();
  }, []);

  async function add(e: FormEvent) {
    e.preventDefault();
    if (!name.trim()) return;
    setBusy(true);
    try {
      await createItem(name.trim(), "");
      setName("");
      await refresh();
    } catch (e) {
      setError(`Could not add the item: ${(e as Error).message}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main>
      <h1>Items</h1>
      <form onSubmit={add} data-testid="add-item">
        <input
          name="name"
          aria-label="Item name"
          value={name}
          maxLength={200}
          onChange={(e) => setName(e.target.value)}
          placeholder="New item"
        />
        <button type="submit" disabled={busy}>
          Add
        </button>
      </form>
      {error && (
        <p role="alert" data-testid="error">
          {error}
        </p>
      )}
      {items === null ? (
        <p data-testid="loading">Loading…</p>
      ) : items.length === 0 ? (
        <p data-testid="empty">No items yet.</p>
      ) : (
        <ul data-testid="items">
          {items.map((item) => (
            <li key={item.id} data-item-id={item.id}>
              {item.name}
            </li>
          ))}
        </ul>
      )}
    </main>
  );
}
