#!/bin/sh
# `prisma generate` needs PRISMA_SCHEMA_ENGINE_BINARY to name an existing file when the schema
# engine cannot be downloaded (no network). Generation never runs it; anything that does fails.
echo "no schema engine here: create tables with SQL (prisma migrate and db push are not available)" >&2
exit 1
