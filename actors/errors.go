package actors

import "errors"

var (
	// ErrMailboxFull is returned by Push when the mailbox holds
	// its capacity. Callers answer with back-pressure (HTTP 429); nothing is
	// dropped silently.
	ErrMailboxFull = errors.New("actors: mailbox full")
	// ErrMailboxClosed is returned once the actor owning the mailbox has
	// stopped or is stopping.
	ErrMailboxClosed = errors.New("actors: mailbox closed")
)
