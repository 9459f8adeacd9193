// Package delivery sends webhooks: one actor per destination URL drains
// that endpoint's share of the outbox, behind its own gobreaker circuit
// breaker and in-flight limit, so one dead endpoint never slows another.
// Every attempt is signed (package signing), recorded in the store, and
// retried on the configured schedule with jitter and Retry-After.
package delivery
