// Package system is hookwire's system interaction webhooks: endpoints
// subscribed by event type, and the events that feed them — a segment
// created, a note written, a segment's trend alert crossing its threshold
// (with the per-segment count of distinct matching users it watches), and
// test messages. Messages go through the same outbox, signing, retries and
// breakers as stream webhooks, with Fullstory's v1 wrapper
// {"eventName", "version": 1, "data"}.
package system
