// The platform's health check for the frontend (x-towlion routes): the
// server is up and renders.
export const dynamic = "force-dynamic";

export function GET() {
  return Response.json({ status: "ok" });
}
