/** @type {import('next').NextConfig} */
const nextConfig = {
  // A self-contained server (.next/standalone/server.js): the image carries
  // only what it runs, not node_modules.
  output: "standalone",
  // The API is a separate service under /api on the same host (Caddy
  // routes /api/* there), so the browser calls it directly.
  eslint: { ignoreDuringBuilds: true },
  poweredByHeader: false,
};

export default nextConfig;
