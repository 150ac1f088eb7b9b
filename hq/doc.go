// Package hq will hold the headquarters program: the mission registry,
// pouch ingest, the readiness map and publishing. Until it lands, the
// agent runs on its own; see README.md for what works today.
package hq
