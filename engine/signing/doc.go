// Package signing signs webhooks the two ways CONTRACT §3 requires — the
// Standard Webhooks scheme (webhook-id / webhook-timestamp /
// webhook-signature) and the seed product's Fullstory-Signature — and
// verifies them for hookwire's example receiver.
package signing
